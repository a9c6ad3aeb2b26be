import { Content, Header, HeaderTabs, Page } from '@backstage/core-components';
import { useRouteRef, useRouteRefParams } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import { Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { approvalsRouteRef, executionRouteRef } from '../../routes';
import { ApprovalsInbox } from '../ApprovalsInbox';
import { ExecutionView } from '../ExecutionView';
import { KillSwitchBanner } from '../KillSwitch';

/** One execution's page: live timeline, plans, approvals, provenance, summary. */
export function ExecutionPage() {
  const { id } = useRouteRefParams(executionRouteRef);
  return (
    <>
      <KillSwitchBanner executionId={id} />
      <ExecutionView id={id} showHeader />
    </>
  );
}

/**
 * The plugin's page: the approvals inbox (its index) and each execution's page, under one header
 * with the kill-switch banner.
 * @public
 */
export function RunbooksPage() {
  const approvals = useRouteRef(approvalsRouteRef)();
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const onExecution = /\/executions\/[^/]+\/?$/.test(pathname);
  return (
    <Page themeId="tool">
      <Header
        title="Runbooks"
        subtitle="Approvals, executions and kill switches"
      />
      {!onExecution && (
        <HeaderTabs
          selectedIndex={0}
          tabs={[{ id: 'approvals', label: 'Approvals inbox' }]}
          onChange={() => navigate(approvals)}
        />
      )}
      <Content>
        <Routes>
          <Route path="/executions/:id" element={<ExecutionPage />} />
          <Route
            path="*"
            element={
              <Box>
                <KillSwitchBanner />
                <ApprovalsInbox />
              </Box>
            }
          />
        </Routes>
      </Content>
    </Page>
  );
}
