// The console's login page: POST /api/login, then the console (docs/WEB.md "Users").
'use strict';

document.getElementById('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = document.getElementById('login-error');
  err.hidden = true;
  const r = await fetch('/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      user: document.getElementById('login-user').value,
      password: document.getElementById('login-password').value,
    }),
  });
  if (r.ok) {
    location.replace('/');
    return;
  }
  const body = await r.json().catch(() => ({}));
  err.textContent = r.status === 429
    ? `Too many wrong passwords: try again in ${Math.ceil((body.retry_after || 60) / 60)} min.`
    : body.error || r.statusText;
  err.hidden = false;
  document.getElementById('login-password').value = '';
});
