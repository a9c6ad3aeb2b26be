import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { RunbookHealthResponse } from '@runbooks/plugin-runbooks-common';
import { formatAgo, formatTime } from './format';

const LABEL: Record<RunbookHealthResponse['status'], string> = {
  healthy: '✓ Matches the system',
  drifted: '⚠ Drifted from the system',
  unknown: '? Could not be checked',
};

/**
 * A runbook's last health check on an entity: whether it still matches the system, what did not
 * match (findings), what could not be checked, and when it was verified. `warning` shows drift as
 * an alert (the run dialog, the approvals inbox).
 */
export function HealthNote(props: {
  health?: RunbookHealthResponse;
  warning?: boolean;
}) {
  const { health } = props;
  if (!health) {
    return props.warning ? null : (
      <Typography variant="body2" color="textSecondary">
        Not checked against the system yet
      </Typography>
    );
  }
  if (props.warning && health.status !== 'drifted') return null;
  const when = (
    <span title={formatTime(health.verifiedAt)}>
      checked {formatAgo(health.verifiedAt)}
    </span>
  );
  return (
    <Box
      data-testid={`health-${health.runbookRef}`}
      role={props.warning ? 'alert' : undefined}
      my={0.5}
      p={props.warning ? 1 : 0}
      style={
        props.warning
          ? { border: '1px solid #ef6c00', borderRadius: 4 }
          : undefined
      }
    >
      <Typography
        variant="body2"
        style={{
          color: health.status === 'drifted' ? '#e65100' : undefined,
        }}
      >
        {LABEL[health.status]} ({when})
        {props.warning &&
          ': the runbook may not do what it says here. Start with a dry-run and read its plan.'}
      </Typography>
      {health.findings.map((f, i) => (
        <Typography key={i} variant="caption" component="div">
          {f.stepId ? `${f.stepId}: ` : ''}
          {f.message}
        </Typography>
      ))}
      {health.status === 'unknown' &&
        health.skipped.map((s, i) => (
          <Typography key={i} variant="caption" component="div">
            {s.stepId ? `${s.stepId}: ` : ''}
            {s.reason}
          </Typography>
        ))}
    </Box>
  );
}
