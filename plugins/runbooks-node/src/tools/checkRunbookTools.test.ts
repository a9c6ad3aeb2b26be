import { ToolInputValidator } from './checkRunbookTools';

describe('ToolInputValidator', () => {
  const validator = new ToolInputValidator();

  it('validates against draft-07 and 2020-12 schemas alike', () => {
    for (const $schema of [
      'http://json-schema.org/draft-07/schema#',
      'https://json-schema.org/draft/2020-12/schema',
    ]) {
      const tool = {
        name: `t/${$schema}`,
        inputSchema: {
          $schema,
          type: 'object',
          properties: { replicas: { type: 'integer', maximum: 20 } },
          required: ['replicas'],
          additionalProperties: false,
        },
      };
      expect(validator.problems(tool, { replicas: 3 })).toEqual([]);
      expect(validator.problems(tool, { replicas: 30, colour: 'red' })).toEqual(
        ["input has unknown property 'colour'", '/replicas must be <= 20'],
      );
    }
  });

  it('reports a schema it cannot compile instead of throwing', () => {
    const tool = {
      name: 'broken/tool',
      inputSchema: { type: 'object', properties: { a: { $ref: '#/nowhere' } } },
    };
    expect(validator.problems(tool, { a: 1 })).toEqual([
      expect.stringMatching(
        /^the input schema of broken\/tool cannot be used: /,
      ),
    ]);
  });
});
