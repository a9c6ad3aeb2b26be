import { checkCelSyntax, collectCelPaths } from './cel';

describe('collectCelPaths', () => {
  it.each([
    [
      'steps.current.output.replicas > 0',
      [['steps', 'current', 'output', 'replicas']],
    ],
    [
      'steps.current.output.replicas != parameters.replicas',
      [
        ['steps', 'current', 'output', 'replicas'],
        ['parameters', 'replicas'],
      ],
    ],
    [
      "size(steps['get-history'].output.revisions) >= 2",
      [['steps', 'get-history', 'output', 'revisions']],
    ],
    // the macro's own variable is no path; its range and the outer names are
    [
      'steps.pods.output.items.exists(p, p.name == parameters.pod)',
      [
        ['steps', 'pods', 'output', 'items'],
        ['parameters', 'pod'],
      ],
    ],
    [
      'int(parameters.replicas) <= int(steps.current.output.replicas) * 3',
      [
        ['parameters', 'replicas'],
        ['steps', 'current', 'output', 'replicas'],
      ],
    ],
    ['steps.a.output.items[0] == 1', [['steps', 'a', 'output', 'items', '0']]],
    // each path once
    ['parameters.x > 1 && parameters.x < 5', [['parameters', 'x']]],
    [
      "entity.metadata.annotations['backstage.io/kubernetes-id'] != ''",
      [['entity', 'metadata', 'annotations', 'backstage.io/kubernetes-id']],
    ],
  ])('%s', (expression, paths) => {
    expect(checkCelSyntax(expression)).toBeUndefined();
    expect(collectCelPaths(expression)).toEqual(paths);
  });
});
