// Provisions devices for tokenstorm's `targets: { grant: refresh_token }`: obtains N
// refresh tokens the stock way, one authorization_code flow with PKCE each (RFC 6749
// §4.1, RFC 7636), driven over plain HTTP against the provider's devInteractions
// login and consent pages (no browser: those pages are plain HTML forms without
// scripts or CSRF tokens), and prints one refresh token a line on stdout.
//
//   node provision.mjs N [ISSUER] > refresh-tokens.txt
//
// ISSUER defaults to $ISSUER, else http://127.0.0.1:$ISSUER_PORT. Device n logs in as
// user `device-<n>`; the client is `demo`/`demo-secret` (client_secret_basic).

import { createHash, randomBytes } from 'node:crypto';

const n = Number(process.argv[2] ?? 1);
const issuer = process.argv[3] ?? process.env.ISSUER ?? `http://127.0.0.1:${process.env.ISSUER_PORT ?? 3000}`;
if (!Number.isInteger(n) || n < 1) {
  console.error('usage: node provision.mjs N [ISSUER]');
  process.exit(2);
}
const CLIENT_ID = 'demo';
const CLIENT_SECRET = 'demo-secret';
const REDIRECT = 'http://127.0.0.1/callback';

const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
const b64url = (buf) => buf.toString('base64url');

// A cookie jar for one flow: the interaction and session cookies are what tie the
// login and consent pages to the authorization request.
function jar() {
  const cookies = new Map();
  return {
    take(res) {
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const i = pair.indexOf('=');
        cookies.set(pair.slice(0, i), pair.slice(i + 1));
      }
    },
    header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
  };
}

async function refreshTokenFor(user) {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(8));
  const auth = new URL(meta.authorization_endpoint);
  auth.search = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: REDIRECT,
    // offline_access is kept only with prompt=consent (OpenID Connect Core §11;
    // lib/actions/authorization/scopes.js).
    scope: 'openid offline_access api:read',
    prompt: 'consent',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  });

  const cookies = jar();
  let url = auth.href;
  let form; // the next form to submit, once a page asked for one
  for (let step = 0; step < 12; step += 1) {
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: cookies.header(),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: form ? new URLSearchParams(form) : undefined,
    });
    cookies.take(res);
    form = undefined;
    const location = res.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (next.href.startsWith(REDIRECT)) {
        const code = next.searchParams.get('code');
        if (!code || next.searchParams.get('state') !== state) {
          throw new Error(`authorization failed: ${next.search}`);
        }
        return exchange(code, verifier);
      }
      url = next.href;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${html.slice(0, 300)}`);
    // The page is the login form (prompt=login) or the consent form (prompt=consent);
    // devInteractions accepts any login and password.
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`${url}: no login or consent form`);
    url = new URL(action.replace(/&amp;/g, '&'), url).href;
    form = prompt === 'login' ? { prompt, login: user, password: 'any' } : { prompt };
  }
  throw new Error('too many steps in the authorization flow');
}

async function exchange(code, verifier) {
  const res = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier,
    }),
  });
  const body = await res.json();
  if (!res.ok || !body.refresh_token) throw new Error(`token exchange: ${JSON.stringify(body)}`);
  return body.refresh_token;
}

for (let i = 0; i < n; i += 1) {
  process.stdout.write(`${await refreshTokenFor(`device-${i}`)}\n`);
}
