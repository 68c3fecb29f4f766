// Who is logged in, in the header, with a way out (only when the console has users).
'use strict';

(async () => {
  const r = await fetch('/api/session');
  const s = await r.json();
  if (!s.login || !s.user) return;
  const who = document.createElement('span');
  who.id = 'user';
  who.className = 'user';
  who.textContent = s.role === 'ops' ? `${s.user} (ops)`
    : `${s.user} (supervisor: ${s.regions.join(', ')})`;
  const out = document.createElement('button');
  out.id = 'logout';
  out.type = 'button';
  out.textContent = 'Log out';
  out.addEventListener('click', async () => {
    await fetch('/api/logout', { method: 'POST', headers: { 'X-CSRF-Token': s.csrf } });
    location.replace('/login.html');
  });
  document.querySelector('header').append(who, out);
})();
