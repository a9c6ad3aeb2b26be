import {
  checkParameterDefinition,
  compileParameterSchema,
  parametersToJsonSchema,
  resolveParameterDefaults,
} from './compileParameters';
import { ParameterDefinitions } from './definitions';
import { FORMAT_PATTERNS, parseDuration } from './formats';

const definitions: ParameterDefinitions = {
  deployment: {
    type: 'string',
    format: 'k8s-name',
    default: "${{ entity.metadata.annotations['backstage.io/kubernetes-id'] }}",
  },
  replicas: { type: 'integer', minimum: 1, maximum: 20 },
  timeout: { type: 'string', format: 'duration', default: '5m' },
  mode: { type: 'enum', enum: ['fast', 'safe'], default: 'safe' },
  dryRunOnly: { type: 'boolean', required: false },
  reason: { type: 'string', minLength: 3, pattern: '^[a-z ]+$' },
  token: { type: 'string', secret: true, required: false },
};

const entity = {
  metadata: {
    name: 'checkout',
    annotations: { 'backstage.io/kubernetes-id': 'checkout' },
  },
};

describe('compileParameterSchema', () => {
  const schema = compileParameterSchema(definitions, {
    defaults: resolveParameterDefaults(definitions, entity),
  });

  it('fills defaults, including those looked up in the entity', () => {
    expect(schema.parse({ replicas: 2, reason: 'load spike' })).toEqual({
      deployment: 'checkout',
      replicas: 2,
      timeout: '5m',
      mode: 'safe',
      reason: 'load spike',
    });
  });

  it.each([
    [{ replicas: 0, reason: 'abc' }, ['replicas']],
    [{ replicas: 2.5, reason: 'abc' }, ['replicas']],
    [{ replicas: '2', reason: 'abc' }, ['replicas']],
    [{ replicas: 2, reason: 'ABC' }, ['reason']],
    [{ replicas: 2, reason: 'ab' }, ['reason']],
    [{ replicas: 2, reason: 'abc', mode: 'reckless' }, ['mode']],
    [{ replicas: 2, reason: 'abc', deployment: 'Checkout_1' }, ['deployment']],
    [{ replicas: 2, reason: 'abc', timeout: '5 minutes' }, ['timeout']],
    [{ replicas: 2, reason: 'abc', extra: 1 }, [undefined]],
    [{ reason: 'abc' }, ['replicas']],
  ])('rejects %j at %j', (input, paths) => {
    const result = schema.safeParse(input);
    expect(result.success).toBe(false);
    const failedPaths = result.error?.issues.map(i => i.path[0]);
    expect(failedPaths).toEqual(expect.arrayContaining(paths));
  });

  it('binds a parameter whose default comes from the entity to that value', () => {
    const result = schema.safeParse({
      deployment: 'kube-dns',
      replicas: 2,
      reason: 'load spike',
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({
      path: ['deployment'],
      message: expect.stringContaining(
        'is bound to the entity: it must be "checkout"',
      ),
    });
    // giving the entity's own value is the same as leaving it out
    expect(
      schema.parse({
        deployment: 'checkout',
        replicas: 2,
        reason: 'load spike',
      }).deployment,
    ).toBe('checkout');
  });

  it('lets an overridable parameter take another value than the entity default', () => {
    const free = compileParameterSchema(
      { deployment: { ...definitions.deployment, overridable: true } },
      { defaults: { deployment: 'checkout' } },
    );
    expect(free.parse({ deployment: 'checkout-canary' })).toEqual({
      deployment: 'checkout-canary',
    });
    // a literal default never binds
    const literal = compileParameterSchema(
      { timeout: definitions.timeout },
      { defaults: { timeout: '5m' } },
    );
    expect(literal.parse({ timeout: '1m' })).toEqual({ timeout: '1m' });
  });

  it('refuses any value of a bound parameter when the entity lacks its annotation (fails closed)', () => {
    const bare = compileParameterSchema(
      { namespace: { ...definitions.deployment } },
      { defaults: resolveParameterDefaults(definitions, { metadata: {} }) },
    );
    for (const given of [{ namespace: 'kube-system' }, {}]) {
      const result = bare.safeParse(given);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0].message).toContain(
        'this entity has no valid value there',
      );
    }
  });

  it('has no default when the entity lacks the annotation', () => {
    const bare = compileParameterSchema(definitions, {
      defaults: resolveParameterDefaults(definitions, {
        metadata: { name: 'x' },
      }),
    });
    const result = bare.safeParse({ replicas: 2, reason: 'abc' });
    expect(result.success).toBe(false);
  });

  it('ignores an entity value that does not fit the type', () => {
    expect(
      resolveParameterDefaults(definitions, {
        metadata: {
          annotations: { 'backstage.io/kubernetes-id': 'Not A Name' },
        },
      }),
    ).not.toHaveProperty('deployment');
  });
});

describe('resolveParameterDefaults', () => {
  it('reads numbers and booleans out of annotations for typed parameters', () => {
    expect(
      resolveParameterDefaults(
        {
          replicas: {
            type: 'integer',
            default: "${{ entity.metadata.annotations['r'] }}",
          },
          flag: {
            type: 'boolean',
            default: "${{ entity.metadata.annotations['f'] }}",
          },
          bad: {
            type: 'integer',
            default: "${{ entity.metadata.annotations['b'] }}",
          },
        },
        { metadata: { annotations: { r: '3', f: 'true', b: 'three' } } },
      ),
    ).toEqual({ replicas: 3, flag: true });
  });

  it('does not take defaults from Object.prototype for names like toString', () => {
    const defs: ParameterDefinitions = Object.fromEntries([
      ['toString', { type: 'string' as const }],
    ]);
    expect(parametersToJsonSchema(defs, { defaults: {} })).toMatchObject({
      required: ['toString'],
    });
  });
});

describe('parametersToJsonSchema', () => {
  it('describes types, constraints, resolved defaults and required parameters', () => {
    const json = parametersToJsonSchema(definitions, {
      defaults: resolveParameterDefaults(definitions, entity),
    });
    expect(json).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['replicas', 'reason'],
      properties: {
        deployment: {
          type: 'string',
          'x-runbooks-format': 'k8s-name',
          pattern: FORMAT_PATTERNS['k8s-name'],
          default: 'checkout',
          const: 'checkout',
        },
        replicas: { type: 'integer', minimum: 1, maximum: 20 },
        timeout: {
          type: 'string',
          'x-runbooks-format': 'duration',
          pattern: '^(\\d+(ms|s|m|h|d))+$',
          default: '5m',
        },
        mode: { type: 'string', enum: ['fast', 'safe'], default: 'safe' },
        dryRunOnly: { type: 'boolean' },
        reason: { type: 'string', minLength: 3, pattern: '^[a-z ]+$' },
        token: { type: 'string', writeOnly: true, 'x-runbooks-secret': true },
      },
    });
  });
});

describe('checkParameterDefinition', () => {
  it.each([
    [
      { type: 'integer', minimum: 1, default: 0 },
      /does not satisfy its own type/,
    ],
    [{ type: 'string', pattern: '(' }, /invalid regular expression/],
    [{ type: 'integer', pattern: 'x' }, /applies to string parameters only/],
    [{ type: 'enum' }, /needs an enum/],
    [{ type: 'enum', enum: ['a', 'a'] }, /unique/],
    [{ type: 'string', secret: true, default: 'x' }, /secret parameter/],
    [
      {
        type: 'string',
        secret: true,
        default: "${{ entity.metadata.annotations['t'] }}",
      },
      /secret parameter cannot have a default/,
    ],
    [
      { type: 'string', default: '${{ parameters.other }}' },
      /only look up the entity/,
    ],
    [{ type: 'number', minimum: 5, maximum: 1 }, /greater than maximum/],
  ] as const)('reports %j', (def, message) => {
    const issues = checkParameterDefinition(def as any);
    expect(issues).toHaveLength(1);
    expect(issues[0].message).toMatch(message);
  });

  it('accepts a sound definition', () => {
    expect(
      checkParameterDefinition({
        type: 'integer',
        minimum: 1,
        maximum: 5,
        default: 3,
      }),
    ).toEqual([]);
  });
});

describe('parseDuration', () => {
  it('adds up units', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('5 minutes')).toThrow(/not a duration/);
  });
});
