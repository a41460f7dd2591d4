// Opens a page in Debian's headless chromium through playwright-core and reports what rendered.
// Usage: node browser_app.cjs URL SCREENSHOT.png — prints one JSON object.
const { chromium } = require('playwright-core')
const [url, shot] = process.argv.slice(2)
;(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  })
  const page = await browser.newPage()
  const requests = []
  const log = []
  page.on('request', r => requests.push(r.url()))
  page.on('console', m => log.push('console: ' + m.text()))
  page.on('requestfailed', r => log.push('failed: ' + r.url() + ' ' + (r.failure() || {}).errorText))
  const resp = await page.goto(url)
  const templateBytes = (await resp.body()).length
  try {
    await page.waitForFunction(() => (document.getElementById('node') || {}).textContent, null, { timeout: 20000 })
  } catch (e) {
    await page.screenshot({ path: shot })
    throw new Error(e.message + '\nrequests: ' + requests.join(' ') + '\n' + log.join('\n') + '\n' + (await page.content()).slice(0, 600))
  }
  // What a script in the app can learn about the node's API token: it tries the obvious ways.
  const probes = await page.evaluate(async () => {
    const tries = []
    const node = new URL(document.baseURI).host
    const text = async (p) => { try { const r = await p; return r.status + ' ' + (await r.text()) } catch (e) { return 'error ' + e } }
    tries.push(await text(fetch('http://' + node + '/getvar?name=token')))
    tries.push(await text(fetch('http://' + node + '/getvar?name=apitoken')))
    tries.push(await text(fetch('http://' + node + '/api/GetVar', { method: 'POST', body: '["", "token"]' })))
    tries.push(await text(fetch('http://' + node + '/mm/..%2fapi.token')))
    tries.push(await text(fetch('http://' + node + '/api.token')))
    if (window.hprose) {
      const c = hprose.Client.create('ws://' + node + '/ws/', [])
      c.timeout = 4000
      for (const [m, args] of [['MMCreate', ['', '', '', 'probe', 2, 0]], ['GetVar', ['', 'token']], ['Shutdown', ['']]]) {
        try { tries.push(m + ' ' + JSON.stringify(await c.invoke(m, args))) } catch (e) { tries.push(m + ' refused: ' + (e.message || e)) }
      }
    }
    return tries
  })
  const out = {
    templateBytes,
    app: await page.textContent('#app'),
    node: await page.textContent('#node'),
    visits: await page.evaluate(() => (document.getElementById('visits') || {}).textContent || null),
    probes,
    base: await page.evaluate(() => document.baseURI),
    requests,
  }
  await page.screenshot({ path: shot })
  console.log(JSON.stringify(out))
  await browser.close()
})().catch(e => { console.error(e); process.exit(1) })
