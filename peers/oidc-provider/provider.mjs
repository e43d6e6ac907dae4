// A real OpenID provider (the `oidc-provider` package, pinned in package.json) and a
// small API in front of it, on 127.0.0.1, for driving tokenstorm's `mode: live` with
// `targets:` against an issuer that is not ours. It counts what the provider itself
// reports (its events) and what the API decides, at GET /counters, so that a run's
// report can be checked against the server's own figures.
//
//   node provider.mjs [--issuer-port N] [--api-port N]     (0, the default: any free port)
//
// When both servers listen it prints one line of JSON on stdout:
//   {"issuer":"http://127.0.0.1:P","token_endpoint":"http://127.0.0.1:P/token",
//    "jwks_uri":"...","api":"http://127.0.0.1:Q/api/me","counters":"http://127.0.0.1:Q/counters",
//    "private_key_jwt":{"client_id":"demo-jwt","kid":"demo-jwt-1","private_key_pem":"..."}}
// Everything else (the provider's development warnings) goes to stderr.
//
// Environment: ISSUER_PORT, API_PORT, ACCESS_TTL (seconds, default 60), REFRESH_TTL
// (seconds, default 14 days), DEMO_PASSWORD (default demo-password), AUTO_LOGIN (1:
// interactions complete by themselves, for the authorization code grant at load).

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

// oidc-provider prints its notices with console.info, i.e. on stdout; stdout is kept
// for the one JSON line a test reads.
console.info = console.error;

const { values: args } = parseArgs({
  options: { 'issuer-port': { type: 'string' }, 'api-port': { type: 'string' } },
});
const HOST = '127.0.0.1';
const num = (v, d) => (v === undefined || v === '' ? d : Number(v));
const ISSUER_PORT = num(args['issuer-port'] ?? process.env.ISSUER_PORT, 0);
const API_PORT = num(args['api-port'] ?? process.env.API_PORT, 0);
const ACCESS_TTL = num(process.env.ACCESS_TTL, 60);
const REFRESH_TTL = num(process.env.REFRESH_TTL, 14 * 24 * 3600);
const PASSWORD = process.env.DEMO_PASSWORD ?? 'demo-password';
// AUTO_LOGIN=1: the provider's interactions (login, consent) complete by themselves,
// as the user named by login_hint, instead of showing devInteractions' forms: an
// issuer a load test can drive through the authorization code flow.
const AUTO_LOGIN = process.env.AUTO_LOGIN === '1';

// Both ports first: the issuer URL and the API URL (the resource indicator, hence the
// access tokens' audience) go into the provider's configuration.
const listen = (server, port) => new Promise((ok, fail) => {
  server.once('error', fail);
  server.listen(port, HOST, () => ok(server.address().port));
});
const issuerServer = createServer();
const apiServer = createServer();
const ISSUER = `http://${HOST}:${await listen(issuerServer, ISSUER_PORT)}`;
const API_ORIGIN = `http://${HOST}:${await listen(apiServer, API_PORT)}`;
const API = `${API_ORIGIN}/api/me`;

// ---- counters --------------------------------------------------------------------
let counters;
// Which grant each access token belongs to (jti -> grantId, from the provider's own
// `access_token.issued` event), so that the API can tell when it accepts a JWT whose
// grant was revoked: a JWT checked locally stays valid until it expires.
let grantOfJti;
let revokedGrants;
function reset() {
  counters = {
    token_requests: {},
    invalid_grant_reasons: {},
    other_errors: {},
    grants_revoked: 0,
    grants_revoked_by_reuse: 0,
    refresh_tokens_issued: 0,
    refresh_tokens_consumed: 0,
    access_tokens_issued: 0,
    server_errors: 0,
    api_ok: 0,
    api_ok_revoked_grant: 0,
    api_unauthorized: 0,
    api_unauthorized_reasons: {},
  };
  grantOfJti = new Map();
  revokedGrants = new Set();
}
reset();
const bump = (obj, key, by = 1) => { obj[key] = (obj[key] ?? 0) + by; };
const byGrant = (ctx) => {
  const gty = ctx.oidc?.params?.grant_type ?? 'unknown';
  return (counters.token_requests[gty] ??= { ok: 0, invalid_grant: 0, other_errors: 0 });
};

// ---- keys and accounts -----------------------------------------------------------
// A fresh RS256 key per start: tokens never outlive the process that signed them.
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' };

// The `demo-jwt` client authenticates with private_key_jwt (RFC 7523): its key pair is
// made here too, its public half registered, its private half handed to the test in
// the startup line (a test setup; a real client keeps its key to itself).
const { publicKey: clientPublic, privateKey: clientPrivate } =
  await jose.generateKeyPair('ES256', { extractable: true });
const clientJwk = { ...(await jose.exportJWK(clientPublic)), kid: 'demo-jwt-1', alg: 'ES256', use: 'sig' };

// Any username is an account of its own (devInteractions accepts any login too).
const findAccount = async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) });

// The one resource server: JWT access tokens for it, so the API checks them with the
// provider's public key alone, as most APIs do (no introspection call per request).
async function getResourceServerInfo(ctx, resource) {
  if (resource !== API) throw new errors.InvalidTarget();
  return {
    scope: 'api:read',
    audience: API,
    accessTokenTTL: ACCESS_TTL,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

const client = (id, method) => ({
  client_id: id,
  client_secret: 'demo-secret',
  token_endpoint_auth_method: method,
  grant_types: ['authorization_code', 'refresh_token', 'client_credentials', 'password'],
  response_types: ['code'],
  // Never visited: provision.mjs reads the code from the Location header.
  redirect_uris: ['http://127.0.0.1/callback'],
});

const jwtClient = {
  ...client('demo-jwt', 'private_key_jwt'),
  client_secret: undefined,
  token_endpoint_auth_signing_alg: 'ES256',
  jwks: { keys: [clientJwk] },
};

const provider = new Provider(ISSUER, {
  clients: [client('demo', 'client_secret_basic'), client('demo-post', 'client_secret_post'), jwtClient],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  findAccount,
  scopes: ['openid', 'offline_access', 'api:read'],
  // Every refresh returns a new refresh token and consumes the old one; presenting a
  // consumed one revokes the grant (lib/actions/grants/refresh_token.js, see README).
  rotateRefreshToken: true,
  pkce: { required: () => true },
  ttl: {
    AccessToken: ACCESS_TTL,
    ClientCredentials: ACCESS_TTL,
    // The stock rule for confidential clients: each rotation's refresh token lives the
    // full REFRESH_TTL again; the Grant, saved once at login, is what ends a session
    // REFRESH_TTL after it began ("grant is expired"/"grant not found").
    RefreshToken: REFRESH_TTL,
    Grant: REFRESH_TTL,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 600,
    Session: REFRESH_TTL,
  },
  features: {
    // The stock login/consent pages, for provision.mjs; AUTO_LOGIN answers them itself.
    devInteractions: { enabled: !AUTO_LOGIN },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => API,
      // Without it a request with `openid` in scope (and no `resource`) gets an opaque
      // token for userinfo instead of a JWT for the API (lib/helpers/resolve_resource.js).
      useGrantedResource: async () => true,
      getResourceServerInfo,
    },
  },
});

// The resource owner password grant (RFC 6749 §4.3). The stock provider has none (it
// was dropped from OAuth 2.1); it is added only so that tokenstorm's clients, whose
// forced re-login after a dead refresh token is a password grant, can log in again
// without a browser. It issues what an authorization_code exchange would: a Grant for
// `openid offline_access` (+ api:read on the API), a JWT access token for the API and
// a refresh token of that grant, which then rotates like any other.
provider.registerGrantType('password', async (ctx) => {
  const { params, client: cl } = ctx.oidc;
  if (!params.username || params.password !== PASSWORD) {
    throw new errors.InvalidGrant('wrong username or password');
  }
  const scope = params.scope ?? 'openid offline_access';
  const scopes = new Set(scope.split(' '));
  const known = new Set(['openid', 'offline_access', 'api:read']);
  const unknown = [...scopes].filter((s) => !known.has(s));
  if (unknown.length) throw new errors.InvalidScope('unknown scope', unknown.join(' '));

  const accountId = params.username;
  const grant = new provider.Grant({ accountId, clientId: cl.clientId });
  grant.addOIDCScope([...scopes].filter((s) => s !== 'api:read').join(' '));
  // api:read only when asked for, as a refresh scopes its access token by the refresh
  // token's scope (lib/actions/grants/refresh_token.js).
  if (scopes.has('api:read')) grant.addResourceScope(API, 'api:read');
  const grantId = await grant.save();
  ctx.oidc.entity('Grant', grant);

  const at = new provider.AccessToken({ accountId, client: cl, grantId, gty: 'password' });
  at.resourceServer = new provider.ResourceServer(API, await getResourceServerInfo(ctx, API));
  at.scope = scopes.has('api:read') ? 'api:read' : '';
  ctx.oidc.entity('AccessToken', at);
  const accessToken = await at.save();

  let refreshToken;
  if (scopes.has('offline_access')) {
    const rt = new provider.RefreshToken({
      accountId, client: cl, grantId, gty: 'password', resource: API, rotations: 0,
      scope, expiresWithSession: false,
    });
    ctx.oidc.entity('RefreshToken', rt);
    refreshToken = await rt.save();
  }
  ctx.body = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: at.expiration,
    refresh_token: refreshToken,
    scope,
  };
}, ['username', 'password', 'scope']);

// ---- the provider's own events (lib/actions/token.js, lib/helpers/revoke.js, models) --
provider.on('grant.success', (ctx) => { byGrant(ctx).ok += 1; });
provider.on('grant.error', (ctx, err) => {
  if (err.error === 'invalid_grant') {
    byGrant(ctx).invalid_grant += 1;
    // The reason is in error_detail; error_description is a generic "grant request is
    // invalid" (lib/helpers/errors.js).
    bump(counters.invalid_grant_reasons, err.error_detail ?? err.error_description ?? '');
  } else {
    byGrant(ctx).other_errors += 1;
    bump(counters.other_errors, err.error);
  }
});
provider.on('server_error', (ctx, err) => {
  counters.server_errors += 1;
  if (ctx.oidc?.route === 'token') byGrant(ctx).other_errors += 1;
  console.error('server_error', err);
});
provider.on('grant.revoked', (ctx, grantId) => {
  counters.grants_revoked += 1;
  revokedGrants.add(grantId);
  // Revoked on the token endpoint: only the "refresh token already used" path does that.
  if (ctx.oidc?.route === 'token') counters.grants_revoked_by_reuse += 1;
});
provider.on('refresh_token.saved', () => { counters.refresh_tokens_issued += 1; });
provider.on('refresh_token.consumed', () => { counters.refresh_tokens_consumed += 1; });
// JWT access tokens are not stored: the model emits `issued`, not `saved`.
provider.on('access_token.issued', (token) => {
  counters.access_tokens_issued += 1;
  grantOfJti.set(token.jti, token.grantId);
  // Bounded: the oldest entries (long expired) go first.
  if (grantOfJti.size > 100_000) grantOfJti.delete(grantOfJti.keys().next().value);
});
provider.on('access_token.saved', () => { counters.access_tokens_issued += 1; });
provider.on('client_credentials.issued', () => { counters.access_tokens_issued += 1; });
provider.on('client_credentials.saved', () => { counters.access_tokens_issued += 1; });

// AUTO_LOGIN: the interaction the provider sends a user agent to (its default URL,
// /interaction/:uid) is finished at once, as an application's login routes finish it
// once a person has submitted them: login as login_hint, then consent to every scope
// and resource the prompt's details say are missing (Provider#interactionDetails and
// #interactionFinished, lib/provider.js:224-257 as installed; the consent prompt's
// details, lib/helpers/interaction_policy/prompts/consent.js).
async function autoInteraction(req, res) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
  if (prompt.name === 'login') {
    const accountId = params.login_hint || 'auto';
    return provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const d = prompt.details;
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const consent = { grantId: await grant.save() };
  return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
issuerServer.on('request', (req, res) => {
  if (AUTO_LOGIN && req.method === 'GET' && req.url.startsWith('/interaction/')) {
    autoInteraction(req, res).catch((e) => {
      console.error('interaction', e);
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
    });
    return;
  }
  callback(req, res);
});

// ---- the API ---------------------------------------------------------------------
// Its key set from the provider's discovery document, as any API would find it.
const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
const JWKS = jose.createRemoteJWKSet(new URL(discovery.jwks_uri));

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function unauthorized(res, reason, description) {
  counters.api_unauthorized += 1;
  bump(counters.api_unauthorized_reasons, reason);
  // RFC 6750 §3: no error code when the request carried no token at all.
  const challenge = reason === 'missing'
    ? 'Bearer realm="api"'
    : `Bearer realm="api", error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"`;
  send(res, 401, reason === 'missing' ? { error: 'unauthorized' } : { error: 'invalid_token', error_description: description }, { 'www-authenticate': challenge });
}

apiServer.on('request', async (req, res) => {
  const { pathname } = new URL(req.url, API_ORIGIN);
  if (pathname === '/counters' && req.method === 'GET') return send(res, 200, counters);
  if (pathname === '/counters/reset' && req.method === 'POST') { reset(); return send(res, 200, counters); }
  if (pathname !== '/api/me' || req.method !== 'GET') return send(res, 404, { error: 'not_found' });

  const m = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return unauthorized(res, 'missing');
  try {
    const { payload } = await jose.jwtVerify(m[1], JWKS, {
      issuer: ISSUER, audience: API, typ: 'at+jwt', algorithms: ['RS256'],
    });
    counters.api_ok += 1;
    if (revokedGrants.has(grantOfJti.get(payload.jti))) counters.api_ok_revoked_grant += 1;
    return send(res, 200, { sub: payload.sub, client_id: payload.client_id, scope: payload.scope ?? '' });
  } catch (e) {
    const reason = e.code === 'ERR_JWT_EXPIRED' ? 'expired' : (e.code ?? 'invalid');
    return unauthorized(res, reason, e.message);
  }
});

process.stdout.write(`${JSON.stringify({
  issuer: ISSUER,
  token_endpoint: discovery.token_endpoint,
  jwks_uri: discovery.jwks_uri,
  api: API,
  counters: `${API_ORIGIN}/counters`,
  private_key_jwt: {
    client_id: 'demo-jwt',
    kid: clientJwk.kid,
    private_key_pem: await jose.exportPKCS8(clientPrivate),
  },
})}\n`);

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
