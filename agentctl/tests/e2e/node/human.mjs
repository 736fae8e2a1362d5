// A person in a browser at agentauth's authorization endpoint, for the end-to-end
// scripts: one session cookie, redirects read rather than followed. They ask for a
// sign-in code for EMAIL, read it from the development outbox, enter it, and allow the
// client (ticking "may hand this on" when `delegate`).
import { readdirSync, readFileSync } from 'node:fs';

/** Resolves to { back: the redirect to the client, send: the browser, for later pages }. */
export async function consents({ issuer, outbox, authorizationUrl, email = 'ada@example.com', delegate = false }) {
  let cookie = '';
  const send = async (url, form) => {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form ? new URLSearchParams(form) : undefined,
    });
    const set = response.headers.getSetCookie()[0];
    if (set) cookie = set.split(';')[0];
    return response;
  };
  const request = authorizationUrl.search.slice(1);
  const login = await send(authorizationUrl);
  if (login.status !== 200) throw new Error(`login page: ${login.status}`);
  const sent = await send(`${issuer}/oauth2/authorize/login`, { request, csrf: csrf(await login.text()), email });
  if (sent.status !== 200) throw new Error(`send code: ${sent.status}`);
  const mails = readdirSync(outbox).filter((f) => f.endsWith('.eml')).sort();
  const mail = readFileSync(`${outbox}/${mails.at(-1)}`, 'utf8').replaceAll('=\r\n', '').replaceAll('=\n', '');
  const code = /is:\s+(\d{6})\s/.exec(mail)[1];
  const consent = await send(`${issuer}/oauth2/authorize/verify`, { request, csrf: csrf(await sent.text()), code });
  if (consent.status !== 200) throw new Error(`verify: ${consent.status}`);
  const answer = { request, csrf: csrf(await consent.text()), decision: 'allow', ...(delegate ? { delegate: 'yes' } : {}) };
  const back = await send(`${issuer}/oauth2/authorize/consent`, answer);
  if (back.status !== 303) throw new Error(`consent: ${back.status}`);
  return { back: new URL(back.headers.get('location')), send };
}

/** A page's CSRF token. */
export const csrf = (page) => /name="csrf" value="([^"]*)"/.exec(page)[1];
