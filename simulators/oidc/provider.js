// A real OpenID Connect provider (the OpenID-certified `oidc-provider` package) on loopback,
// for chiso's sign-in tests. Not a fake: chiso talks to it as to the city's provider.
//
//   node provider.js --port=4000 [--redirect-uri=https://testserver/signin/oidc/callback]
//                    [--id-token-ttl=600] [--clock-skew=-3600] [--issuer=http://127.0.0.1:4000]
//
// Options may also come from the environment: OIDC_PORT, OIDC_REDIRECT_URI, OIDC_ID_TOKEN_TTL,
// OIDC_CLOCK_SKEW, OIDC_ISSUER.
//
// Clients: `chiso` (secret `chiso-test-secret`) and `other-app` (secret `other-app-secret`, a
// second relying party, whose ID tokens carry another audience). Both must use PKCE (S256).
//
// Sign-in goes through the provider's own interaction pages (the package's built-in
// "devInteractions": a login form that takes one of the test users below, then a consent
// form). --clock-skew shifts the provider's clock (seconds), so that it issues tokens that are
// already expired by the relying party's clock: a genuine expired ID token.
import Provider from 'oidc-provider';

const args = Object.fromEntries(process.argv.slice(2)
  .filter((a) => a.startsWith('--'))
  .map((a) => { const [k, ...v] = a.slice(2).split('='); return [k, v.join('=')]; }));
const opt = (name, env, fallback) => args[name] ?? process.env[env] ?? fallback;

const host = '127.0.0.1';
const port = Number(opt('port', 'OIDC_PORT', '4000'));
const issuer = opt('issuer', 'OIDC_ISSUER', `http://${host}:${port}`);
const redirectUri = opt('redirect-uri', 'OIDC_REDIRECT_URI',
  'https://testserver/signin/oidc/callback');
const idTokenTtl = Number(opt('id-token-ttl', 'OIDC_ID_TOKEN_TTL', '600'));
const skew = Number(opt('clock-skew', 'OIDC_CLOCK_SKEW', '0'));

if (skew) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + skew * 1000;
}

// Test users: the claims chiso maps to users, roles and units (docs/access.md).
const USERS = {
  lan: { name: 'Nguyễn Thị Lan', email: 'lan@example.test',
         chiso_roles: ['can-bo-don-vi'], chiso_units: ['00070'] },
  minh: { name: 'Trần Văn Minh', email: 'minh@example.test',
          chiso_roles: ['lanh-dao', 'khong-co-trong-bang'], chiso_units: [] },
  hoa: { name: 'Lê Thị Hoa', email: 'hoa@example.test',
         chiso_roles: ['tham-tra@00082'], chiso_units: [] },
};

const client = (id, secret) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: [redirectUri],
  // RP-initiated logout: back to the relying party's home page afterwards
  post_logout_redirect_uris: [new URL('/', redirectUri).href],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});

const provider = new Provider(issuer, {
  clients: [client('chiso', 'chiso-test-secret'), client('other-app', 'other-app-secret')],
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'chiso_roles', 'chiso_units'],
    email: ['email', 'email_verified'],
  },
  conformIdTokenClaims: false, // profile claims in the ID token, not only at userinfo
  features: { devInteractions: { enabled: true } },
  ttl: {
    IdToken: idTokenTtl, AccessToken: 600, AuthorizationCode: 60, Interaction: 3600,
    Session: 3600, Grant: 3600,
  },
  async findAccount(_ctx, id) {
    const user = USERS[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, email_verified: true, ...user };
      },
    };
  },
});

provider.listen(port, host, () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
