import { useApi } from '@backstage/core-plugin-api';
import Button from '@material-ui/core/Button';
import Checkbox from '@material-ui/core/Checkbox';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import FormControlLabel from '@material-ui/core/FormControlLabel';
import MenuItem from '@material-ui/core/MenuItem';
import Radio from '@material-ui/core/Radio';
import RadioGroup from '@material-ui/core/RadioGroup';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import { Theme } from '@material-ui/core/styles';
import useMediaQuery from '@material-ui/core/useMediaQuery';
import {
  compileParameterSchema,
  EntityRunbook,
  ExecutionResponse,
  ParameterDefinition,
  parameterBinding,
} from '@runbooks/plugin-runbooks-common';
import { useMemo, useState } from 'react';
import { runbooksApiRef } from '../../api';
import { errorMessage } from '../common/errorMessage';
import { HealthNote } from '../common/HealthNote';

type Values = Record<string, string | boolean>;

function initialValues(runbook: EntityRunbook): Values {
  const values: Values = {};
  for (const [name, def] of Object.entries(runbook.parameterDefinitions)) {
    const fallback = runbook.defaults[name] ?? def.default;
    if (def.type === 'boolean') values[name] = fallback === true;
    else values[name] = fallback === undefined ? '' : String(fallback);
  }
  return values;
}

/** Form values to request parameters: numbers parsed, empty optional fields left out. */
function toParameters(
  runbook: EntityRunbook,
  values: Values,
): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(runbook.parameterDefinitions)) {
    const value = values[name];
    if (def.type === 'boolean') {
      parameters[name] = value === true;
    } else if (value === '' || value === undefined) {
      continue;
    } else if (def.type === 'integer' || def.type === 'number') {
      parameters[name] = Number(value);
    } else {
      parameters[name] = value;
    }
  }
  return parameters;
}

function ParameterField(props: {
  name: string;
  def: ParameterDefinition;
  value: string | boolean;
  error?: string;
  /** Bound to the entity: shown, fixed, not editable. */
  bound?: boolean;
  onChange: (value: string | boolean) => void;
}) {
  const { name, def, value, error, bound, onChange } = props;
  if (bound) {
    return (
      <TextField
        fullWidth
        margin="dense"
        variant="outlined"
        name={name}
        label={def.title ?? name}
        value={String(value)}
        InputProps={{ readOnly: true }}
        inputProps={{ 'aria-label': name, 'aria-readonly': true }}
        helperText={`From this entity (${def.default}); this runbook does not let it be changed here`}
        data-testid={`bound-${name}`}
      />
    );
  }
  if (def.type === 'boolean') {
    return (
      <FormControlLabel
        control={
          <Checkbox
            checked={value === true}
            onChange={e => onChange(e.target.checked)}
            name={name}
          />
        }
        label={def.title ?? name}
      />
    );
  }
  return (
    <TextField
      fullWidth
      margin="dense"
      variant="outlined"
      name={name}
      label={def.title ?? name}
      value={value}
      select={def.type === 'enum'}
      type={def.secret ? 'password' : 'text'}
      inputProps={{ 'aria-label': name }}
      error={Boolean(error)}
      helperText={error ?? def.description}
      onChange={e => onChange(e.target.value)}
    >
      {def.type === 'enum' &&
        (def.enum ?? []).map(option => (
          <MenuItem key={option} value={option}>
            {option}
          </MenuItem>
        ))}
    </TextField>
  );
}

function describeStep(
  step: EntityRunbook['steps'][number],
  mode: 'dry-run' | 'execute',
): string {
  if (!step.mutates) return '(read-only)';
  if (mode === 'dry-run') return '(plans its change only)';
  return `(changes state after a dry-run${
    step.approval === 'always' ? ' and an approval' : ''
  })`;
}

/**
 * Asks for a runbook's typed parameters (defaults from the entity, validated with the same zod
 * schema as the backend), the mode (dry-run by default), shows what will run, and starts it.
 * @public
 */
export function RunRunbookDialog(props: {
  runbook: EntityRunbook;
  entityRef: string;
  open: boolean;
  onClose: () => void;
  onStarted: (execution: ExecutionResponse) => void;
}) {
  const { runbook, entityRef, open, onClose, onStarted } = props;
  const api = useApi(runbooksApiRef);
  const narrow = useMediaQuery((theme: Theme) => theme.breakpoints.down('xs'));
  const [values, setValues] = useState<Values>(() => initialValues(runbook));
  const [mode, setMode] = useState<'dry-run' | 'execute'>('dry-run');
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState<string>();
  // the backend's schema for this entity: bound parameters must keep the entity's value
  const schema = useMemo(
    () =>
      compileParameterSchema(runbook.parameterDefinitions, {
        defaults: runbook.defaults,
      }),
    [runbook],
  );
  const parameters = toParameters(runbook, values);
  const parsed = schema.safeParse(parameters);
  const errors: Record<string, string> = {};
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? '');
      errors[field] ??= issue.message;
    }
  }
  const blocked = runbook.toolProblems.length > 0;

  const submit = async () => {
    setSubmitting(true);
    setSubmitError(undefined);
    try {
      const execution = await api.createExecution({
        runbookRef: runbook.ref,
        entityRef,
        parameters,
        mode,
      });
      onStarted(execution);
    } catch (e) {
      setSubmitError(errorMessage(e));
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <Dialog
      open={open}
      onClose={onClose}
      fullWidth
      maxWidth="sm"
      fullScreen={narrow}
      aria-labelledby="run-runbook-title"
    >
      <DialogTitle id="run-runbook-title">
        Run {runbook.title ?? runbook.name}
      </DialogTitle>
      <DialogContent>
        <Typography variant="body2" color="textSecondary" gutterBottom>
          against {entityRef}
        </Typography>
        <HealthNote health={runbook.health} warning />
        {Object.entries(runbook.parameterDefinitions).map(([name, def]) => (
          <ParameterField
            key={name}
            name={name}
            def={def}
            value={values[name]}
            error={errors[name]}
            bound={parameterBinding(name, def, runbook.defaults) === 'bound'}
            onChange={value => setValues(v => ({ ...v, [name]: value }))}
          />
        ))}
        <RadioGroup
          row
          value={mode}
          onChange={e => setMode(e.target.value as 'dry-run' | 'execute')}
        >
          <FormControlLabel
            value="dry-run"
            control={<Radio />}
            label="Dry-run (plan only, change nothing)"
          />
          <FormControlLabel
            value="execute"
            control={<Radio />}
            label="Execute"
          />
        </RadioGroup>
        <Typography variant="subtitle2">What will run</Typography>
        <ol data-testid="run-summary">
          {runbook.steps.map(step => (
            <li key={step.id}>
              <Typography variant="body2">
                {step.name ?? step.id} — <code>{step.tool}</code>{' '}
                {describeStep(step, mode)}
              </Typography>
            </li>
          ))}
        </ol>
        {Object.entries(errors)
          .filter(([field]) => !(field in runbook.parameterDefinitions))
          .map(([field, message]) => (
            <Typography key={field} color="error" variant="body2">
              {field ? `${field}: ` : ''}
              {message}
            </Typography>
          ))}
        {blocked && (
          <Typography color="error" variant="body2">
            This runbook cannot run with the configured tools:{' '}
            {runbook.toolProblems.map(p => p.message).join('; ')}
          </Typography>
        )}
        {submitError && (
          <Typography color="error" variant="body2" role="alert">
            {submitError}
          </Typography>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Close</Button>
        <Button
          color="primary"
          variant="contained"
          disabled={!parsed.success || submitting || blocked}
          onClick={submit}
        >
          {mode === 'dry-run' ? 'Start dry-run' : 'Execute'}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
