import { useRouteRef } from '@backstage/core-plugin-api';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';
import {
  BlastRadius,
  ProvenanceBadgeResponse,
} from '@runbooks/plugin-runbooks-common';
import { executionRouteRef } from '../../routes';
import { shortRef } from './format';

/** A JSON value behind a disclosure, for inputs, outputs and state diffs. */
export function Json(props: { value: unknown; label: string }) {
  if (props.value === undefined || props.value === null) return null;
  return (
    <details>
      <summary>
        <Typography variant="caption">{props.label}</Typography>
      </summary>
      <pre style={{ whiteSpace: 'pre-wrap', fontSize: 12, margin: 0 }}>
        {JSON.stringify(props.value, null, 2)}
      </pre>
    </details>
  );
}

/** The text of a provenance badge: verified, open, unsigned, or broken at a statement and step. */
export function provenanceLabel(p: ProvenanceBadgeResponse): string {
  if (p.status === 'verified') {
    return `Signed record verified (${p.statements} statements)`;
  }
  if (p.status === 'open') return `Signed so far (${p.statements} statements)`;
  if (p.status === 'unsigned') return 'No signed record';
  const at = p.firstBroken;
  return `Signed record broken at statement ${at?.position ?? '?'}${
    at?.stepId ? ` (step ${(at.stepIndex ?? 0) + 1} '${at.stepId}')` : ''
  }`;
}

/** How the execution's signed record verifies, and its bundles to download. */
export function ProvenanceBadge(props: {
  executionId: string;
  provenance?: ProvenanceBadgeResponse;
  onDownload: () => void;
}) {
  const p = props.provenance;
  if (!p) return null;
  const colours: Partial<Record<typeof p.status, string>> = {
    verified: '#2e7d32',
    broken: '#c62828',
  };
  const mark: Partial<Record<typeof p.status, string>> = {
    verified: '✓ ',
    broken: '✗ ',
  };
  return (
    <Box display="flex" alignItems="center" flexWrap="wrap" mb={1}>
      <Chip
        size="small"
        label={`${mark[p.status] ?? ''}${provenanceLabel(p)}`}
        title={p.firstBroken?.problem}
        style={
          colours[p.status]
            ? { color: '#fff', backgroundColor: colours[p.status] }
            : undefined
        }
        data-testid={`provenance-${props.executionId}`}
      />
      {p.statements > 0 && (
        <Button size="small" onClick={props.onDownload}>
          Download signed record
        </Button>
      )}
    </Box>
  );
}

/** How far a step's change reaches, with the affected entities linked to their catalog pages. */
export function Radius(props: { radius: BlastRadius; preview?: boolean }) {
  const { radius, preview } = props;
  return (
    <Box data-testid="blast-radius" my={0.5}>
      <Typography variant="body2">
        {preview ? 'Blast radius (at least)' : 'Blast radius'}:{' '}
        <strong>{radius.level}</strong> ({radius.action}
        {radius.approvalsRequired > 0
          ? `, ${radius.approvalsRequired} approval${
              radius.approvalsRequired === 1 ? '' : 's'
            }`
          : ''}
        ){!preview && ` · ${radius.measures.objects} object(s)`}
        {!preview && ` · ${radius.measures.hosts} host(s)`}
      </Typography>
      {radius.affected.length > 0 && (
        <Typography variant="body2" component="div">
          Affected:{' '}
          {radius.affected.map((a, i) => (
            <span key={a.entityRef}>
              {i > 0 && ', '}
              <EntityRefLink entityRef={a.entityRef} defaultKind="component" />
              {a.owner ? ` (${shortRef(a.owner)}` : ' ('}
              {a.lifecycle ? `, ${a.lifecycle}` : ''}
              {a.tier ? `, tier ${a.tier}` : ''})
            </span>
          ))}
          {radius.truncated && ' and possibly more'}
        </Typography>
      )}
      {!preview && (
        <Typography variant="caption" color="textSecondary">
          {radius.reasons.join(' ')}
        </Typography>
      )}
    </Box>
  );
}

/**
 * The link to an execution's page, when the app mounts the plugin's page (the legacy app may only
 * use the entity tab; then executions open in place).
 */
export function useExecutionLink(): ((id: string) => string) | undefined {
  let link: ((params: { id: string }) => string) | undefined;
  try {
    // useRouteRef throws when the app does not mount the page; its own hooks all run before it
    // can throw, so the order of hooks stays the same on every render
    // eslint-disable-next-line react-hooks/rules-of-hooks
    link = useRouteRef(executionRouteRef);
  } catch {
    link = undefined;
  }
  return link ? (id: string) => link!({ id }) : undefined;
}
