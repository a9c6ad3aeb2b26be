import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import FormControlLabel from '@material-ui/core/FormControlLabel';
import Radio from '@material-ui/core/Radio';
import RadioGroup from '@material-ui/core/RadioGroup';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import { KillSwitchResponse } from '@runbooks/plugin-runbooks-common';
import { useCallback, useState } from 'react';
import { usePolled } from '../common/usePolled';
import { runbooksApiRef } from '../../api';
import { errorMessage } from '../common/errorMessage';
import { formatTime, shortRef } from '../common/format';

/** How often the banner looks for switches engaged elsewhere. */
const REFRESH_MS = 30_000;

function describe(s: KillSwitchResponse): string {
  return s.scope === 'global'
    ? 'Global kill switch engaged: no runbook runs anywhere'
    : `Kill switch engaged for ${s.scope} ${shortRef(s.target)}`;
}

/**
 * The kill switches that hold here, as a banner on every page of the plugin, with the control to
 * engage and release them for people allowed to (`runbooks.killswitch.manage`).
 * @public
 */
export function KillSwitchBanner(props: {
  /** The entity this page is about: its switch can be engaged here and shows here. */
  entityRef?: string;
  /** The runbooks shown here: their switches show here. */
  runbookRefs?: string[];
  /** The execution this page is about: its switch shows here. */
  executionId?: string;
}) {
  const api = useApi(runbooksApiRef);
  const [engaging, setEngaging] = useState(false);
  const [releasing, setReleasing] = useState<KillSwitchResponse>();
  const {
    value: state,
    error,
    setError,
    reload: load,
  } = usePolled(
    useCallback(() => api.listKillSwitches(), [api]),
    REFRESH_MS,
  );

  const { entityRef, runbookRefs, executionId } = props;
  const scoped = !!(entityRef || runbookRefs || executionId);
  const holding = (state?.items ?? []).filter(
    s =>
      !s.releasedAt &&
      (!scoped ||
        s.scope === 'global' ||
        (s.scope === 'entity' && s.target === entityRef) ||
        (s.scope === 'runbook' && runbookRefs?.includes(s.target)) ||
        (s.scope === 'execution' && s.target === executionId)),
  );
  const release = async (id: string) => {
    setReleasing(undefined);
    try {
      await api.releaseKillSwitch(id);
      await load();
    } catch (e) {
      setError(e as Error);
    }
  };

  return (
    <Box mb={2} data-testid="kill-switches">
      {holding.map(s => (
        <Box
          key={s.id}
          role="alert"
          p={1.5}
          mb={1}
          display="flex"
          flexWrap="wrap"
          alignItems="center"
          style={{ backgroundColor: '#b71c1c', color: '#fff', borderRadius: 4 }}
          data-testid={`kill-switch-${s.scope}`}
        >
          <Box flex="1 1 240px">
            <Typography variant="subtitle2" component="p">
              ⛔ {describe(s)}
            </Typography>
            <Typography variant="body2" component="p">
              {s.reason} — {shortRef(s.engagedBy)}, {formatTime(s.engagedAt)}.
              Running executions in its scope stop at the next step; new ones
              are refused.
            </Typography>
          </Box>
          {state?.canManage && (
            <Button
              size="small"
              variant="contained"
              onClick={() => setReleasing(s)}
              aria-label={`Release: ${describe(s)}`}
            >
              Release
            </Button>
          )}
        </Box>
      ))}
      {error && (
        <Typography variant="body2" color="error" role="alert">
          Kill switches: {errorMessage(error)}
        </Typography>
      )}
      {state?.canManage && (
        <Button
          size="small"
          variant="outlined"
          style={{ color: '#b71c1c', borderColor: '#b71c1c' }}
          onClick={() => setEngaging(true)}
        >
          Engage kill switch…
        </Button>
      )}
      <Dialog
        open={!!releasing}
        onClose={() => setReleasing(undefined)}
        aria-labelledby="kill-switch-release-title"
      >
        <DialogTitle id="kill-switch-release-title">
          Release the kill switch?
        </DialogTitle>
        <DialogContent>
          <Typography variant="body2">
            {releasing && describe(releasing)} ({releasing?.reason}). Once
            released, executions in its scope may start and resume again.
          </Typography>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setReleasing(undefined)}>Back</Button>
          <Button
            variant="contained"
            color="primary"
            onClick={() => releasing && release(releasing.id)}
          >
            Release
          </Button>
        </DialogActions>
      </Dialog>
      {engaging && (
        <EngageDialog
          executionId={executionId}
          runbookRef={runbookRefs?.length === 1 ? runbookRefs[0] : undefined}
          entityRef={entityRef}
          onClose={() => setEngaging(false)}
          onEngaged={async () => {
            setEngaging(false);
            await load();
          }}
        />
      )}
    </Box>
  );
}

type Scope = KillSwitchResponse['scope'];

function EngageDialog(props: {
  executionId?: string;
  runbookRef?: string;
  entityRef?: string;
  onClose: () => void;
  onEngaged: () => Promise<void>;
}) {
  const api = useApi(runbooksApiRef);
  // the narrowest scope this page is about comes first
  const scopes: Array<{ scope: Scope; target?: string; label: string }> = [];
  if (props.executionId) {
    scopes.push({
      scope: 'execution',
      target: props.executionId,
      label: 'Only this execution',
    });
  }
  if (props.entityRef) {
    scopes.push({
      scope: 'entity',
      target: props.entityRef,
      label: `Every runbook on ${shortRef(props.entityRef)}`,
    });
  }
  if (props.runbookRef) {
    scopes.push({
      scope: 'runbook',
      target: props.runbookRef,
      label: `The runbook ${shortRef(props.runbookRef)} everywhere`,
    });
  }
  scopes.push({ scope: 'global', label: 'Everything (global)' });
  const [scope, setScope] = useState<Scope>(scopes[0].scope);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const tooShort = reason.trim().length < 3;
  const engage = async () => {
    setBusy(true);
    try {
      await api.engageKillSwitch({
        scope,
        target: scopes.find(s => s.scope === scope)?.target,
        reason: reason.trim(),
      });
      await props.onEngaged();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open
      onClose={props.onClose}
      fullWidth
      maxWidth="sm"
      aria-labelledby="kill-switch-engage-title"
    >
      <DialogTitle id="kill-switch-engage-title">
        Engage a kill switch
      </DialogTitle>
      <DialogContent>
        <Typography variant="body2" gutterBottom>
          Executions in its scope stop before their next step and new ones are
          refused until someone releases it.
        </Typography>
        <RadioGroup
          value={scope}
          onChange={e => setScope(e.target.value as Scope)}
          aria-label="Scope"
        >
          {scopes.map(s => (
            <FormControlLabel
              key={s.scope}
              value={s.scope}
              control={<Radio />}
              label={s.label}
            />
          ))}
        </RadioGroup>
        <TextField
          fullWidth
          required
          margin="dense"
          variant="outlined"
          label="Reason"
          value={reason}
          onChange={e => setReason(e.target.value)}
          inputProps={{ 'aria-label': 'Reason', maxLength: 2000 }}
          helperText="Shown to everyone the switch stops (at least 3 characters)"
        />
        {error && (
          <Typography color="error" variant="body2" role="alert">
            {error}
          </Typography>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={props.onClose}>Back</Button>
        <Button
          variant="contained"
          color="secondary"
          disabled={tooShort || busy}
          onClick={engage}
        >
          Engage
        </Button>
      </DialogActions>
    </Dialog>
  );
}
