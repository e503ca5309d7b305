// A real OpenID Connect provider for voxdash's tests and `make demo`: npm `oidc-provider` (a certified
// implementation), on 127.0.0.1, authorization code flow with PKCE required.
//
//   node vox_simulator/identity_provider.mjs --config /tmp/x/provider.json [--port 0]
//
// The config file (written by tests/fixtures/oidc_provider.py, or by vox_simulator/demo.py) holds the
// clients and the accounts:
//   {"clients": [{"client_id", "client_secret", "redirect_uris", "token_endpoint_auth_method"}],
//    "title": "Test provider",                  // what its own pages call it
//    "claims": ["groups"],                       // extra claims released with the "openid" scope
//    "accounts": {"alice": {"password": "...", "claims": {...}, "claims_in": "both"}}}
// Accounts are read again at every request, so a test changes a person's groups between two
// sign-ins by rewriting the file. `claims_in` is "both" (default), "id_token" or "userinfo": which
// of the two carries the extra claims, as real providers differ there.
//
// Once listening it prints one line, `READY <issuer>`, on stdout. Port 0 (the default) picks a free
// port; the issuer (http://127.0.0.1:<port>) is only known then, so the provider is built after
// the socket is bound.
//
// Sign-in is a small form of our own at /interaction/<uid> (oidc-provider's dev interactions are
// meant for eyes, not for a test that submits them); consent is granted automatically, as an
// intranet's provider does for a registered company application. "Cancel" on the form answers
// error=access_denied, as a person declining does at a real provider.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: { config: { type: 'string' }, port: { type: 'string', default: '0' } },
});
if (!args.config) {
  console.error('usage: identity_provider.mjs --config <file.json> [--port <port>]');
  process.exit(2);
}

const readConfig = () => JSON.parse(readFileSync(args.config, 'utf8'));
const config = readConfig();
const extraClaims = config.claims ?? ['groups'];
// What its pages call it (the demo's says "Demo identity provider").
const title = escapeHtml(config.title ?? 'Test provider');

function account(id) {
  return readConfig().accounts?.[id];
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, clientId, message = '') {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}: sign in</title></head>
<body>
<h1>${title}</h1>
<p>Sign in to continue to ${escapeHtml(clientId)}.</p>
${message ? `<p role="alert" id="error">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label>Username <input name="login" id="login" autocomplete="username" required></label>
<label>Password <input name="password" id="password" type="password" autocomplete="current-password"></label>
<button type="submit" id="sign-in">Sign in</button>
</form>
<form method="post" action="/interaction/${uid}/abort">
<button type="submit" id="cancel">Cancel</button>
</form>
</body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

const server = createServer();
server.listen(Number(args.port), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  // An EC key: made in a millisecond, where RSA takes up to a second on a busy machine.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-provider', use: 'sig', alg: 'ES256' };

  const provider = new Provider(issuer, {
    clients: config.clients.map((client) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_post',
      ...client,
    })),
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    // Every client must prove the code is its own: a code exchange without the verifier fails.
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
    },
    claims: {
      openid: ['sub', ...extraClaims],
      profile: ['name', 'preferred_username', 'given_name', 'family_name'],
      email: ['email', 'email_verified'],
    },
    // Scope claims go where an account's `claims_in` says, not only to userinfo (the default).
    conformIdTokenClaims: false,
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const found = account(sub);
      if (!found) return undefined;
      return {
        accountId: sub,
        async claims(use) {
          const claims = { sub, ...(found.claims ?? {}) };
          const where = found.claims_in ?? 'both';
          if (where !== 'both' && where !== use) {
            for (const name of extraClaims) delete claims[name];
          }
          return claims;
        },
      };
    },
    // Consent granted for whatever the client asked: no consent page to click through.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope ?? 'openid');
      await grant.save();
      return grant;
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}: error</title></head>
<body><h1>${title}: error</h1><p id="error">${escapeHtml(out.error)}: ${escapeHtml(out.error_description ?? '')}</p></body></html>`;
    },
  });
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  const callback = provider.callback();

  server.on('request', async (req, res) => {
    if (req.url === '/favicon.ico') {
      // Asked for by every browser; a 404 would be an error in the browser tests' console.
      res.statusCode = 204;
      return res.end();
    }
    const match = req.url.match(/^\/interaction\/([\w-]+)(\/login|\/abort)?$/);
    if (!match) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (req.method === 'GET' && !match[2]) {
        return send(res, 200, loginPage(details.uid, details.params.client_id));
      }
      if (req.method === 'POST' && match[2] === '/abort') {
        return await provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'The person declined to sign in.' },
          { mergeWithLastSubmission: false },
        );
      }
      if (req.method === 'POST' && match[2] === '/login') {
        const form = await readForm(req);
        const login = form.get('login') ?? '';
        const found = account(login);
        if (!found || found.password !== (form.get('password') ?? '')) {
          return send(res, 200, loginPage(details.uid, details.params.client_id, 'Wrong username or password.'));
        }
        return await provider.interactionFinished(req, res, { login: { accountId: login } }, {
          mergeWithLastSubmission: false,
        });
      }
      return send(res, 405, 'method not allowed');
    } catch (error) {
      // An expired or unknown interaction (its cookie gone): say so, as a provider would.
      return send(res, 400, `<!doctype html><title>${title}: error</title><p id="error">${escapeHtml(error.message)}</p>`);
    }
  });

  console.log(`READY ${issuer}`);
});
