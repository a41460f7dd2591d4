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
  const out = {
    templateBytes,
    app: await page.textContent('#app'),
    node: await page.textContent('#node'),
    base: await page.evaluate(() => document.baseURI),
    requests,
  }
  await page.screenshot({ path: shot })
  console.log(JSON.stringify(out))
  await browser.close()
})().catch(e => { console.error(e); process.exit(1) })
