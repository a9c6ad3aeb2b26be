import { parseRunbookYaml } from './parseRunbookYaml';

describe('parseRunbookYaml', () => {
  it('locates problems at the offending line and column', () => {
    const text = [
      'apiVersion: runbooks.backstage.io/v1alpha1', // 1
      'kind: Runbook', // 2
      'metadata:', // 3
      '  name: x', // 4
      'spec:', // 5
      '  owner: sre', // 6
      '  steps:', // 7
      '    - id: a', // 8
      '      tool: k/get', // 9
      '      mutates: false', // 10
      '      input:', // 11
      '        name: ${{ parameters.nope }}', // 12
    ];
    expect(parseRunbookYaml(text.join('\n')).issues).toEqual([
      {
        line: 12,
        col: 15,
        message:
          "spec.steps[0].input.name: unknown parameter 'nope' in ${{ parameters.nope }}; declared parameters: (none)",
      },
    ]);
    // problems of shape come first; problems of meaning once the shape is right
    const withUnknownField = [...text, '      color: red'].join('\n');
    expect(parseRunbookYaml(withUnknownField).issues).toEqual([
      {
        line: 13,
        col: 7,
        message: "spec.steps[0].color: unknown field 'color'",
      },
    ]);
  });

  it('points at the parent key when a required field is missing', () => {
    const text =
      'apiVersion: runbooks.backstage.io/v1alpha1\nkind: Runbook\nmetadata:\n  name: x\nspec:\n  steps: [{ id: a, tool: k/get, mutates: false }]\n';
    expect(parseRunbookYaml(text).issues).toEqual([
      { line: 5, col: 1, message: 'spec.owner is required' },
    ]);
  });

  it('reads every document, passes over other kinds, and keeps valid runbooks', () => {
    const text = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: c }
spec: { type: service, owner: a, lifecycle: x }
---
apiVersion: runbooks.backstage.io/v1alpha1
kind: Runbook
metadata: { name: ok }
spec:
  owner: sre
  steps: [{ id: a, tool: k/get, mutates: false }]
---
apiVersion: runbooks.backstage.io/v1alpha1
kind: Runbook
metadata: { name: bad }
spec:
  steps: [{ id: a, tool: k/get, mutates: false }]
`;
    const result = parseRunbookYaml(text);
    expect(result.runbooks.map(r => r.metadata.name)).toEqual(['ok']);
    expect(result.issues).toEqual([
      { line: 16, col: 1, message: 'spec.owner is required' },
    ]);
  });

  it('reports YAML syntax errors once, at their position', () => {
    const result = parseRunbookYaml('kind: Runbook\nspec:\n  a: 1\n   b: 2\n');
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]).toMatchObject({
      line: 3,
      message: expect.stringMatching(/^YAML syntax error/),
    });
  });

  it('says when a file holds no runbook', () => {
    expect(parseRunbookYaml('# nothing\n').issues).toEqual([
      { line: 1, col: 1, message: 'the file holds no entity of kind Runbook' },
    ]);
  });
});
