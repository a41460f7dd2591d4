// Counts visits in the app's database MiMei (VISITS_DB, from config.js) through the node's /ws/
// with the hprose JavaScript client. The node is the one the domain node's template page chose
// (its <meta name="leither-node">), or the page's own host when opened from a node directly.
var meta = document.querySelector('meta[name="leither-node"]')
var node = meta ? meta.content : location.host

function client(host) {
  var c = hprose.Client.create('ws://' + host + '/ws/', [])
  c.timeout = 4000
  return c
}

async function count() {
  var here = client(node)
  var db = await here.invoke('MMOpen', ['', VISITS_DB, 'cur'])
  try {
    return String(await here.invoke('Incr', [db, 'visits']))
  } catch (e) {
    // Not writable here: this node holds a read-only replica. Count on the author's node.
  }
  try {
    var info = await here.invoke('GetVar', ['', 'mminfo', VISITS_DB])
    var provs = await here.invoke('MiMeiFindProvs', ['', '', VISITS_DB])
    var author = provs.find(function (p) { return p.id === info.Author && p.http })
    if (!author) throw new Error('the author is away')
    var there = client(author.http)
    var w = await there.invoke('MMOpen', ['', VISITS_DB, 'cur'])
    return String(await there.invoke('Incr', [w, 'visits']))
  } catch (e) {
    return (await here.invoke('Get', [db, 'visits'])) + ' (read-only: the author is away)'
  }
}

count().then(function (n) {
  document.getElementById('visits').textContent = n
}, function (e) {
  document.getElementById('visits').textContent = 'unknown (' + (e && e.message || e) + ')'
}).then(function () {
  document.getElementById('node').textContent = node
})
