import Chip from '@material-ui/core/Chip';
import Tooltip from '@material-ui/core/Tooltip';
import Typography from '@material-ui/core/Typography';
import { EntityRunbook } from '@runbooks/plugin-runbooks-common';

function describeType(schema: Record<string, unknown>): string {
  const format = schema['x-runbooks-format'];
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.join(' | ')}`;
  const parts = [String(format ?? schema.type)];
  if (schema['x-runbooks-secret']) parts.push('(secret)');
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    parts.push(`${schema.minimum ?? '…'}–${schema.maximum ?? '…'}`);
  }
  return parts.join(' ');
}

const show = (value: unknown) =>
  typeof value === 'object' && value !== null
    ? JSON.stringify(value)
    : String(value);

/**
 * The typed parameters of a runbook, each as a chip with its type, default (or the given value)
 * and description.
 */
export function ParametersList(props: {
  runbook: EntityRunbook;
  /** Values to show instead of the defaults, such as a proposal's parameters. */
  values?: Record<string, unknown>;
}) {
  const schema = props.runbook.parametersSchema as {
    properties: Record<string, Record<string, unknown>>;
    required: string[];
  };
  const names = Object.keys(schema.properties);
  if (names.length === 0) {
    return <Typography variant="body2">none</Typography>;
  }
  return (
    <div data-testid={`parameters-${props.runbook.name}`}>
      {names.map(name => {
        const prop = schema.properties[name];
        const required = schema.required.includes(name);
        const value = props.values ? props.values[name] : prop.default;
        const label = `${name}${required ? '*' : ''}: ${describeType(prop)}${
          value !== undefined ? ` = ${show(value)}` : ''
        }`;
        return (
          <Tooltip key={name} title={String(prop.description ?? '')}>
            <Chip size="small" label={label} style={{ margin: 2 }} />
          </Tooltip>
        );
      })}
    </div>
  );
}
