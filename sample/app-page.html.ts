/**
 * The sample's demo page (GET /app): a login form and buttons that call the
 * JSON routes with `fetch` (`credentials: 'same-origin'`), writing each
 * result into an element with a stable id (`#login-result`, `#me-result`,
 * `#csrf-token`, `#transfer-result`, `#logout-result`, `#cookies`) as
 * `<status> <json body>`. No external resources: everything is inline, so
 * the page can be served under a strict Content-Security-Policy.
 */
export const APP_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Session manager demo</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; }
  fieldset { margin-bottom: 1rem; }
  output, pre { display: block; background: #f4f4f4; padding: .4rem; min-height: 1.2em; white-space: pre-wrap; word-break: break-all; }
  button { margin: .2rem .4rem .2rem 0; }
</style>
</head>
<body>
<h1>Session manager demo</h1>
<p>The session cookie is <code>HttpOnly</code>: this page cannot read it, only the browser sends it.</p>

<fieldset>
  <legend>Log in (alice / alice-password)</legend>
  <form id="login-form" autocomplete="off">
    <label>Username <input id="username" name="username" value="alice" required></label>
    <label>Password <input id="password" name="password" type="password" required></label>
    <button id="login" type="submit">Log in</button>
  </form>
  <output id="login-result"></output>
</fieldset>

<fieldset>
  <legend>Session</legend>
  <button id="me" type="button">GET /me</button>
  <output id="me-result"></output>
</fieldset>

<fieldset>
  <legend>CSRF-protected transfer</legend>
  <label>Amount <input id="amount" type="number" value="10" min="1"></label>
  <button id="transfer" type="button">Fetch /csrf token, then POST /transfer</button>
  <p>Token: <code id="csrf-token"></code></p>
  <output id="transfer-result"></output>
</fieldset>

<fieldset>
  <legend>Log out</legend>
  <button id="logout" type="button">POST /auth/logout</button>
  <output id="logout-result"></output>
</fieldset>

<p>Cookies visible to this page (<code>document.cookie</code>): <code id="cookies"></code></p>

<script>
'use strict';
const $ = (id) => document.getElementById(id);

async function call(method, path, body, headers) {
  const init = { method, credentials: 'same-origin', headers: Object.assign({ accept: 'application/json' }, headers) };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { status: res.status, data };
}

function show(id, result) {
  const el = $(id);
  el.dataset.status = String(result.status);
  el.textContent = result.status + ' ' + JSON.stringify(result.data);
  $('cookies').textContent = document.cookie;
}

async function run(id, action) {
  const el = $(id);
  el.dataset.status = 'pending';
  try {
    show(id, await action());
  } catch (error) {
    el.dataset.status = 'error';
    el.textContent = 'error ' + error;
  }
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  run('login-result', () =>
    call('POST', '/auth/login', { username: $('username').value, password: $('password').value }));
});

$('me').addEventListener('click', () => run('me-result', () => call('GET', '/me')));

$('transfer').addEventListener('click', () => run('transfer-result', async () => {
  const csrf = await call('GET', '/csrf');
  const token = csrf.data && csrf.data.token;
  if (typeof token !== 'string') return csrf;
  $('csrf-token').textContent = token;
  return call('POST', '/transfer', { amount: Number($('amount').value) }, { 'x-csrf-token': token });
}));

$('logout').addEventListener('click', () => run('logout-result', () => call('POST', '/auth/logout')));

$('cookies').textContent = document.cookie;
</script>
</body>
</html>
`;
