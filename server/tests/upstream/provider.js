// An upstream OpenID provider for the federation tests: node `oidc-provider` (scripts/setup-node.sh)
// on 127.0.0.1, a port chosen by the system. Configured by UPSTREAM_CONFIG (JSON):
//   { "clients": [{ "client_id", "client_secret"?, "redirect_uris": [...] }],
//     "accounts": [{ "sub", "email", "email_verified", "name" }] }
// Prints one line, {"issuer": "http://127.0.0.1:PORT"}, once it listens; runs until killed.
// devInteractions serve the login form (any password; `login` is the account's sub) and the
// consent form.
'use strict';
const http = require('http');
const Provider = require('oidc-provider').default;

const config = JSON.parse(process.env.UPSTREAM_CONFIG || '{}');
const accounts = new Map((config.accounts || []).map((a) => [a.sub, a]));

let handler = (req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: (config.clients || []).map((c) => ({
      client_id: c.client_id,
      ...(c.client_secret ? { client_secret: c.client_secret } : {}),
      redirect_uris: c.redirect_uris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: c.client_secret ? 'client_secret_basic' : 'none',
    })),
    async findAccount(ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            email: account.email,
            email_verified: account.email_verified,
            name: account.name,
          };
        },
      };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: ['authcore-upstream-test-cookie-key'] },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  handler = provider.callback();
  console.log(JSON.stringify({ issuer }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
