import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';

const demoSignInPage = SignInPageBlueprint.make({
  params: {
    loader: async () => (await import('./DemoSignInPage')).DemoSignInPage,
  },
});

/** The demo sign-in page of the local portal. */
export const signInModule = createFrontendModule({
  pluginId: 'app',
  extensions: [demoSignInPage],
});
