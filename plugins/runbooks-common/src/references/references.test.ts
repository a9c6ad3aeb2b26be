import {
  parseTemplate,
  ReferenceLookupError,
  ReferenceSyntaxError,
  renderTemplate,
} from './references';

describe('parseTemplate', () => {
  it('splits text and lookups', () => {
    expect(
      parseTemplate(
        "app=${{ parameters.app }} in ${{ entity.metadata.annotations['a/b'] }}",
      ),
    ).toEqual([
      { type: 'text', text: 'app=' },
      {
        type: 'reference',
        raw: '${{ parameters.app }}',
        reference: {
          source: 'parameters.app',
          root: 'parameters',
          path: ['app'],
        },
      },
      { type: 'text', text: ' in ' },
      {
        type: 'reference',
        raw: "${{ entity.metadata.annotations['a/b'] }}",
        reference: {
          source: "entity.metadata.annotations['a/b']",
          root: 'entity',
          path: ['metadata', 'annotations', 'a/b'],
        },
      },
    ]);
  });

  it('accepts double-quoted keys and indexes', () => {
    const [part] = parseTemplate('${{ steps.read.output.items[0]["name"] }}');
    expect(part).toMatchObject({
      type: 'reference',
      reference: {
        root: 'steps',
        path: ['read', 'output', 'items', 0, 'name'],
      },
    });
  });

  it.each([
    ['${{ parameters.a + 1 }}', /not a lookup/],
    ['${{ parameters.a | upper }}', /not a lookup/],
    ["${{ process.env['HOME'] }}", /unknown reference root 'process'/],
    ['${{ parameters }}', /names only the root/],
    ['${{ parameters.a', /unterminated/],
    ['${{ entity.metadata[name] }}', /expected \['key'\]/],
    ['${{ parameters.constructor.constructor("x")() }}', /not a lookup/],
  ])('rejects %s', (template, message) => {
    expect(() => parseTemplate(template)).toThrow(ReferenceSyntaxError);
    expect(() => parseTemplate(template)).toThrow(message);
  });
});

describe('renderTemplate', () => {
  const context = {
    parameters: { replicas: 3, name: 'checkout', flag: false },
    entity: { metadata: { name: 'checkout', annotations: { 'x/y': 'z' } } },
    steps: { read: { output: { items: [{ name: 'p1' }] } } },
  };

  it('keeps the type of a whole-string reference and interpolates inside text', () => {
    expect(
      renderTemplate(
        {
          replicas: '${{ parameters.replicas }}',
          flag: '${{ parameters.flag }}',
          selector:
            'app=${{ parameters.name }},x=${{ entity.metadata.annotations["x/y"] }}',
          list: ['${{ steps.read.output.items[0].name }}', 7],
        },
        context,
      ),
    ).toEqual({
      replicas: 3,
      flag: false,
      selector: 'app=checkout,x=z',
      list: ['p1', 7],
    });
  });

  it('leaves out the key of an optional parameter that was not given', () => {
    expect(
      renderTemplate(
        {
          name: '${{ parameters.name }}',
          value: '${{ parameters.value }}',
          list: ['${{ parameters.value }}'],
        },
        context,
      ),
    ).toEqual({ name: 'checkout', list: [] });
  });

  it('fails on a lookup that finds nothing instead of rendering an empty string', () => {
    expect(() =>
      renderTemplate('x=${{ parameters.missing }}', context),
    ).toThrow(ReferenceLookupError);
    expect(() => renderTemplate('x-${{ entity.spec.type }}', context)).toThrow(
      '${{ entity.spec.type }} has no value',
    );
  });

  it('does not walk into inherited properties', () => {
    expect(() =>
      renderTemplate('${{ entity.metadata.constructor }}', context),
    ).toThrow(ReferenceLookupError);
    expect(renderTemplate('${{ parameters.constructor }}', context)).toBe(
      undefined,
    );
    expect(renderTemplate('${{ parameters.__proto__ }}', context)).toBe(
      undefined,
    );
  });

  it('refuses to put an object inside text', () => {
    expect(() => renderTemplate('x ${{ entity.metadata }}', context)).toThrow(
      /is an object/,
    );
  });
});
