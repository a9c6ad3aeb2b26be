import { Entity } from '@backstage/catalog-model';
import {
  getAnnotatedRunbookRefs,
  runbookAppliesTo,
  selectorMatches,
} from './appliesTo';
import { validateRunbookEntity } from './validateRunbook';

const component = (
  name: string,
  extra: Partial<Entity['metadata']> = {},
  type = 'service',
): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, namespace: 'default', ...extra },
  spec: { type, owner: 'team-a' },
});

const runbook = (appliesTo: unknown) => {
  const result = validateRunbookEntity({
    apiVersion: 'runbooks.backstage.io/v1alpha1',
    kind: 'Runbook',
    metadata: { name: 'restart', namespace: 'default' },
    spec: {
      owner: 'sre',
      appliesTo,
      steps: [{ id: 'a', tool: 'k/get', mutates: false }],
    },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.runbook;
};

describe('runbookAppliesTo', () => {
  it('matches explicit refs, defaulting the namespace', () => {
    const rb = runbook({ entities: ['component:checkout'] });
    expect(runbookAppliesTo(rb, component('checkout'))).toEqual(['relation']);
    expect(runbookAppliesTo(rb, component('payments'))).toEqual([]);
  });

  it('matches a selector on kind, type and annotations (* = present)', () => {
    const rb = runbook({
      selector: {
        kind: 'component',
        type: ['service'],
        annotations: { 'backstage.io/kubernetes-id': '*', tier: 'one' },
      },
    });
    const annotated = {
      annotations: { 'backstage.io/kubernetes-id': 'x', tier: 'one' },
    };
    expect(runbookAppliesTo(rb, component('a', annotated))).toEqual([
      'selector',
    ]);
    expect(runbookAppliesTo(rb, component('a', annotated, 'website'))).toEqual(
      [],
    );
    expect(
      runbookAppliesTo(rb, component('a', { annotations: { tier: 'one' } })),
    ).toEqual([]);
    expect(
      runbookAppliesTo(
        rb,
        component('a', {
          annotations: { 'backstage.io/kubernetes-id': 'x', tier: 'two' },
        }),
      ),
    ).toEqual([]);
  });

  it('never matches an empty selector, and validation refuses one', () => {
    expect(selectorMatches({}, component('a'))).toBe(false);
    expect(selectorMatches({ annotations: {} }, component('a'))).toBe(false);
    expect(() => runbook({ selector: { annotations: {} } })).toThrow(
      'a selector needs at least one of kind, type or annotations',
    );
  });

  it('does not match annotations inherited from Object.prototype', () => {
    const rb = runbook({ selector: { annotations: { constructor: '*' } } });
    expect(
      runbookAppliesTo(rb, component('a', { annotations: { x: 'y' } })),
    ).toEqual([]);
  });

  it('matches an entity that opts in through the annotation', () => {
    const entity = component('legacy', {
      annotations: {
        'runbooks.backstage.io/runbooks': 'restart, runbook:ops/other',
      },
    });
    expect(getAnnotatedRunbookRefs(entity)).toEqual([
      'runbook:default/restart',
      'runbook:ops/other',
    ]);
    expect(runbookAppliesTo(runbook(undefined), entity)).toEqual([
      'annotation',
    ]);
  });
});
