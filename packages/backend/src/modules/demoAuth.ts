import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { AuthenticationError } from '@backstage/errors';
import {
  authProvidersExtensionPoint,
  createProxyAuthenticator,
  createProxyAuthProviderFactory,
} from '@backstage/plugin-auth-node';

/** The header the demo sign-in page sends with the chosen user's name. */
export const DEMO_USER_HEADER = 'x-runbooks-demo-user';

type DemoResult = { user: string };

const demoAuthenticator = createProxyAuthenticator<
  { users: string[] },
  DemoResult,
  undefined
>({
  defaultProfileTransform: async result => ({
    profile: { displayName: result.user },
  }),
  initialize({ config }) {
    return { users: config.getStringArray('users') };
  },
  async authenticate({ req }, { users }) {
    const user = req.header(DEMO_USER_HEADER);
    if (!user) {
      throw new AuthenticationError(`Missing ${DEMO_USER_HEADER} header`);
    }
    if (!users.includes(user)) {
      throw new AuthenticationError(
        `'${user}' is not a demo user; choose one of ${users.join(', ')}`,
      );
    }
    return { result: { user } };
  },
});

/**
 * Development-only sign-in: pick one of the demo users listed under `auth.providers.demo.users`.
 * It trusts a request header, so it refuses to load when NODE_ENV is production.
 */
export const demoAuthModule = createBackendModule({
  pluginId: 'auth',
  moduleId: 'demo-provider',
  register(reg) {
    reg.registerInit({
      deps: {
        providers: authProvidersExtensionPoint,
        logger: coreServices.logger,
      },
      async init({ providers, logger }) {
        if (process.env.NODE_ENV === 'production') {
          throw new Error(
            'The demo sign-in provider trusts a request header and must not run in production; remove demoAuthModule from the backend',
          );
        }
        logger.warn(
          'Demo sign-in is enabled: anyone who can reach this backend can act as any demo user (development only)',
        );
        providers.registerProvider({
          providerId: 'demo',
          factory: createProxyAuthProviderFactory<DemoResult>({
            authenticator: demoAuthenticator,
            async signInResolver({ result }, ctx) {
              return ctx.signInWithCatalogUser({
                entityRef: {
                  kind: 'User',
                  namespace: 'default',
                  name: result.user,
                },
              });
            },
          }),
        });
      },
    });
  },
});
