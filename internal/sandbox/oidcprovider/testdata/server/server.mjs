// Test-only: panva's oidc-provider (the version package-lock.json pins), an
// independent, certified OpenID Connect server, on loopback, configured
// by internal/sandbox/oidcprovider for one test.
//
//   node server.mjs CONFIG.json
//
// CONFIG.json (written by the Go harness):
//
//   port                  TCP port on 127.0.0.1; 0 picks a free one
//   users                 { login: email }: the accounts; devInteractions'
//                         login page takes the login (it becomes sub) and
//                         accepts any password
//   clients               oidc-provider client metadata, as is
//   rotateRefreshToken    true: every refresh returns a new refresh token
//                         and a reused one revokes the grant; false: never
//   refreshWithoutConsent true: a refresh token comes with every code or
//                         device grant of a client allowed refresh_token;
//                         false: only with offline_access, which OIDC Core
//                         (and this server) honours only with prompt=consent
//   requireNonce          true: an authorization request with openid and
//                         no nonce is refused (some servers do this)
//   accessTokenTTL        seconds an access token lives
//   strictClientAuth      true: a client authenticates only the way it is
//                         registered (token_endpoint_auth_method), as
//                         servers configured for one method do; false:
//                         oidc-provider's own way, which takes a secret
//                         in the body or as Basic from either kind
//   cookieKeys            keys that sign the server's cookies
//
// It prints "listening http://127.0.0.1:PORT" when it takes requests, and
// exits when its standard input closes, so it never outlives the test.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const conf = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const server = createServer();
server.listen(conf.port || 0, '127.0.0.1', async () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: conf.clients,
    async findAccount(ctx, sub) {
      const email = conf.users[sub];
      if (!email) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, email, email_verified: true };
        },
      };
    },
    cookies: { keys: conf.cookieKeys },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // Dovecot's oauth2 passdb reads the mailbox name from the introspection
    // answer (username_attribute = email): an opaque access token carries
    // these claims into it.
    async extraTokenClaims(ctx, token) {
      const email = conf.users[token.accountId];
      return email ? { email } : undefined;
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    async issueRefreshToken(ctx, client, code) {
      if (!client.grantTypeAllowed('refresh_token')) return false;
      return conf.refreshWithoutConsent || code.scopes.has('offline_access');
    },
    rotateRefreshToken: !!conf.rotateRefreshToken,
    ttl: {
      AccessToken: conf.accessTokenTTL || 3600,
      AuthorizationCode: 60,
      DeviceCode: 600,
      Grant: 14 * 24 * 3600,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
    },
  });
  if (conf.requireNonce) {
    provider.use(async (ctx, next) => {
      if (ctx.path === '/auth' && ctx.method === 'GET') {
        const scope = String(ctx.query.scope || '').split(' ');
        if (scope.includes('openid') && !ctx.query.nonce) {
          ctx.status = 400;
          ctx.body = { error: 'invalid_request', error_description: 'nonce is required when openid is requested' };
          return;
        }
      }
      await next();
    });
  }
  if (conf.strictClientAuth) {
    const registered = new Map(conf.clients.map((c) => [c.client_id, c.token_endpoint_auth_method]));
    const guarded = new Set(['/token', '/token/revocation', '/token/introspection', '/device/auth']);
    provider.use(async (ctx, next) => {
      if (ctx.method !== 'POST' || !guarded.has(ctx.path) || !ctx.is('application/x-www-form-urlencoded')) {
        return next();
      }
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const raw = Buffer.concat(chunks).toString('utf8');
      ctx.req.body = raw; // oidc-provider reads a body parsed upstream from here
      const body = new URLSearchParams(raw);
      let used = 'none';
      let clientId = body.get('client_id');
      const header = ctx.get('authorization');
      if (/^basic /i.test(header)) {
        used = 'client_secret_basic';
        const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
        clientId = decodeURIComponent(decoded.slice(0, decoded.indexOf(':')));
      } else if (body.has('client_secret')) {
        used = 'client_secret_post';
      }
      const want = registered.get(clientId);
      if (want && want !== used) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Basic realm="oidc-provider"');
        ctx.body = { error: 'invalid_client', error_description: `client ${clientId} must authenticate with ${want}, not ${used}` };
        return undefined;
      }
      return next();
    });
  }
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  // oidc-provider checks a static client only when it is first used: check
  // them all now, so that a bad registration fails the start, not a test.
  for (const { client_id: id } of conf.clients) {
    try {
      await provider.Client.find(id);
    } catch (err) {
      console.error(`client ${id}: ${err.error || err.name}: ${err.error_description || err.message}`);
      process.exit(1);
    }
  }
  server.on('request', provider.callback());
  console.log(`listening ${issuer}`);
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
