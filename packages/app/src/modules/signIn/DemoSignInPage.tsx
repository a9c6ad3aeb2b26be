import {
  Content,
  Header,
  Page,
  ProxiedSignInPage,
  WarningPanel,
} from '@backstage/core-components';
import { SignInPageProps } from '@backstage/plugin-app-react';
import Button from '@material-ui/core/Button';
import Card from '@material-ui/core/Card';
import CardActions from '@material-ui/core/CardActions';
import CardContent from '@material-ui/core/CardContent';
import Grid from '@material-ui/core/Grid';
import Typography from '@material-ui/core/Typography';
import { useState } from 'react';

// Must match DEMO_USER_HEADER in packages/backend/src/modules/demoAuth.ts
const DEMO_USER_HEADER = 'x-runbooks-demo-user';
const STORAGE_KEY = 'runbooks-demo-user';

const DEMO_USERS = [
  { name: 'alice', role: 'Developer in team-checkout' },
  { name: 'bob', role: 'On-call lead in SRE (approves)' },
  { name: 'carol', role: 'Incident reviewer (reads history)' },
  { name: 'dave', role: 'SRE manager (second on-call level, approves)' },
];

/**
 * Development sign-in: choose a demo user; the backend signs them in from the catalog. The choice
 * is remembered for the browser tab; open a new tab (or clear its session storage) to switch.
 */
export function DemoSignInPage(props: SignInPageProps) {
  const [user, setUser] = useState<string | null>(() =>
    window.sessionStorage.getItem(STORAGE_KEY),
  );

  const forget = () => {
    window.sessionStorage.removeItem(STORAGE_KEY);
    setUser(null);
  };

  if (user) {
    return (
      <ProxiedSignInPage
        {...props}
        provider="demo"
        headers={{ [DEMO_USER_HEADER]: user }}
        onSignInSuccess={identityApi => {
          // remembered for this tab only once the backend accepted the user
          window.sessionStorage.setItem(STORAGE_KEY, user);
          props.onSignInSuccess(identityApi);
        }}
        ErrorComponent={({ error }) => (
          <Page themeId="home">
            <Content>
              <WarningPanel
                title={`Could not sign in as ${user}`}
                message={`${
                  error?.message ?? 'Unknown error'
                }. Right after start, the catalog may still be loading the demo users: try again in a few seconds.`}
              >
                <Button color="primary" variant="contained" onClick={forget}>
                  Choose a user
                </Button>
              </WarningPanel>
            </Content>
          </Page>
        )}
      />
    );
  }

  const choose = (name: string) => setUser(name);

  return (
    <Page themeId="home">
      <Header
        title="Runbooks for Backstage"
        subtitle="Local portal: development sign-in with demo users"
      />
      <Content>
        <Grid container spacing={2}>
          {DEMO_USERS.map(u => (
            <Grid item xs={12} sm={4} key={u.name}>
              <Card>
                <CardContent>
                  <Typography variant="h6">{u.name}</Typography>
                  <Typography color="textSecondary">{u.role}</Typography>
                </CardContent>
                <CardActions>
                  <Button
                    color="primary"
                    variant="contained"
                    onClick={() => choose(u.name)}
                    aria-label={`Sign in as ${u.name}`}
                  >
                    Sign in as {u.name}
                  </Button>
                </CardActions>
              </Card>
            </Grid>
          ))}
        </Grid>
      </Content>
    </Page>
  );
}
