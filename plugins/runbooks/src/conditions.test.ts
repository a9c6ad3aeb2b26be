import { isRunbooksAvailable } from './conditions';

const entity = (kind: string, extra: object = {}) => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind,
  metadata: { name: 'x', ...extra },
});

describe('isRunbooksAvailable', () => {
  it('shows the tab on components, resources and systems', () => {
    expect(isRunbooksAvailable(entity('Component'))).toBe(true);
    expect(isRunbooksAvailable(entity('Resource'))).toBe(true);
    expect(isRunbooksAvailable(entity('System'))).toBe(true);
  });

  it('shows it elsewhere only with a hasRunbook relation or the annotation', () => {
    expect(isRunbooksAvailable(entity('User'))).toBe(false);
    expect(
      isRunbooksAvailable({
        ...entity('API'),
        relations: [{ type: 'hasRunbook', targetRef: 'runbook:default/r' }],
      }),
    ).toBe(true);
    expect(
      isRunbooksAvailable(
        entity('API', {
          annotations: { 'runbooks.backstage.io/runbooks': 'r' },
        }),
      ),
    ).toBe(true);
  });
});
