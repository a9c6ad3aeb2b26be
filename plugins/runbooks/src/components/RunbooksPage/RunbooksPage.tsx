import { Content, Header, HeaderTabs, Page } from '@backstage/core-components';
import { useRouteRef, useRouteRefParams } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import { useState } from 'react';
import { Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { approvalsRouteRef, executionRouteRef } from '../../routes';
import { ApprovalsInbox } from '../ApprovalsInbox';
import { ExecutionView } from '../ExecutionView';
import { KillSwitchBanner } from '../KillSwitch';

/** One execution's page: live timeline, plans, approvals, provenance, summary. */
export function ExecutionPage() {
  const { id } = useRouteRefParams(executionRouteRef);
  // the switches that hold this execution: its own, its entity's, its runbook's, the global one
  const [target, setTarget] = useState<{
    entityRef: string;
    runbookRef: string;
  }>();
  return (
    <>
      <KillSwitchBanner
        executionId={id}
        entityRef={target?.entityRef}
        runbookRefs={target ? [target.runbookRef] : undefined}
      />
      <ExecutionView
        id={id}
        showHeader
        onLoaded={execution =>
          setTarget(t =>
            t?.entityRef === execution.entityRef &&
            t?.runbookRef === execution.runbookRef
              ? t
              : {
                  entityRef: execution.entityRef,
                  runbookRef: execution.runbookRef,
                },
          )
        }
      />
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
