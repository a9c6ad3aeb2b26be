import { writeFile } from 'node:fs/promises';
import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ApiError } from './ApiError';
import { FakeCluster, WatchEvent } from './FakeCluster';
import {
  jsonMergePatch,
  jsonPatch,
  PatchError,
  strategicMergePatch,
} from './patch';
import {
  apiGroupList,
  apiResourceList,
  findResource,
  groupVersion,
  RESOURCE_TYPES,
} from './resources';
import {
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from './selectors';
import { toTable, wantsTable } from './table';
import { KubeFakeSeed, KubeObject, ResourceType } from './types';

/**
 * Options of {@link createKubeApiFake}.
 * @public
 */
export interface KubeApiFakeOptions {
  /** The objects the cluster starts with. */
  seed?: KubeFakeSeed;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

/**
 * A running fake Kubernetes API server.
 * @public
 */
export interface KubeApiFake {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The state behind the API, for tests that look or change things directly. */
  cluster: FakeCluster;
  /** Method, path and query of the requests served so far (the newest 1000). */
  requests: Array<{ method: string; path: string; query: string }>;
  /** A kubeconfig (YAML) with one context, `runbooks-fake`, pointing at this server. */
  kubeconfig(): string;
  /** Writes {@link KubeApiFake.kubeconfig} to a file (mode 0600) and returns the path. */
  writeKubeconfig(path: string): Promise<string>;
  close(): Promise<void>;
}

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-runbooks-fake',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function send(res: ServerResponse, code: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function notFoundPath() {
  return new ApiError(
    404,
    'NotFound',
    'the server could not find the requested resource',
    {},
  );
}

function parseRoute(path: string): Route | undefined {
  const segs = path.split('/').filter(Boolean);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs[1] === 'v1') {
    group = '';
    version = 'v1';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 3) {
    group = segs[1];
    version = segs[2];
    rest = segs.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const inner = findResource(group, version, rest[2]);
    if (inner?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  if (rest.length === 0 || rest.length > 3) return undefined;
  const type = findResource(group, version, rest[0]);
  if (!type) return undefined;
  if (type.namespaced && rest.length > 1 && namespace === undefined)
    return undefined;
  return { type, namespace, name: rest[1], subresource: rest[2] };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, what: string): any {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(
      400,
      'BadRequest',
      `the ${what} is not valid JSON: ${(e as Error).message}`,
    );
  }
}

function listKind(type: ResourceType) {
  return `${type.kind}List`;
}

/**
 * Starts a fake Kubernetes API server on 127.0.0.1 that kubectl 1.32 can talk to: legacy discovery,
 * namespaces, nodes, pods (with eviction), secrets, configmaps, deployments (with scale), replicasets,
 * daemonsets and poddisruptionbudgets; get, list, watch, create, replace, patch (strategic merge,
 * JSON merge, JSON patch, a simplified server-side apply), delete and server-side dry-run. What it
 * leaves out is listed at the top of `index.ts` in this folder.
 * @public
 */
export async function createKubeApiFake(
  options: KubeApiFakeOptions = {},
): Promise<KubeApiFake> {
  const cluster = new FakeCluster();
  cluster.load({
    objects: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'kube-system' },
      },
      ...(options.seed?.objects ?? []).filter(
        o =>
          !(
            o.kind === 'Namespace' &&
            ['default', 'kube-system'].includes(o.metadata.name)
          ),
      ),
    ],
    crashLooping: options.seed?.crashLooping,
  });
  const requests: KubeApiFake['requests'] = [];
  const watches = new Set<ServerResponse>();
  const host = options.host ?? '127.0.0.1';
  let url = '';

  const handleWatch = (
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    q: URLSearchParams,
  ) => {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'));
    const table = wantsTable(req.headers.accept);
    const matches = (obj: KubeObject | undefined) =>
      !!obj &&
      (route.namespace === undefined ||
        obj.metadata.namespace === route.namespace) &&
      (route.name === undefined || obj.metadata.name === route.name) &&
      labels(obj.metadata.labels) &&
      fields(obj);
    res.writeHead(200, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    // clients wait for the headers of a watch before they look at events (or stop it)
    res.flushHeaders();
    watches.add(res);
    const write = (type: string, obj: unknown) => {
      const object =
        table && type !== 'ERROR' && type !== 'BOOKMARK'
          ? toTable(route.type, [obj as KubeObject], cluster.resourceVersion())
          : obj;
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const deliver = (event: WatchEvent) => {
      if (event.resource !== route.type) return;
      const before = matches(event.previous);
      const after = event.type !== 'DELETED' && matches(event.object);
      if (event.type === 'DELETED') {
        if (before) write('DELETED', event.object);
      } else if (before && after) write('MODIFIED', event.object);
      else if (after) write('ADDED', event.object);
      else if (before) write('DELETED', event.object);
    };
    const since = q.get('resourceVersion');
    const initial = q.get('sendInitialEvents') === 'true';
    if (!since || since === '0' || initial) {
      for (const obj of cluster
        .list(route.type, route.namespace)
        .filter(matches)) {
        write('ADDED', obj);
      }
      if (initial) {
        write('BOOKMARK', {
          kind: route.type.kind,
          apiVersion: groupVersion(route.type.group, route.type.version),
          metadata: {
            resourceVersion: cluster.resourceVersion(),
            annotations: { 'k8s.io/initial-events-end': 'true' },
          },
        });
      }
    } else {
      const events = cluster.eventsSince(Number(since));
      if (!events) {
        write(
          'ERROR',
          new ApiError(
            410,
            'Expired',
            `too old resource version: ${since}`,
          ).toStatus(),
        );
        res.end();
        watches.delete(res);
        return;
      }
      events.forEach(deliver);
    }
    const unsubscribe = cluster.subscribe(deliver);
    const seconds = Number(q.get('timeoutSeconds') ?? '0');
    const timer =
      seconds > 0 ? setTimeout(() => res.end(), seconds * 1000) : undefined;
    timer?.unref();
    const stop = () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      watches.delete(res);
    };
    res.on('close', stop);
    req.on('close', stop);
  };

  const handleResource = async (
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    q: URLSearchParams,
  ) => {
    const { type, namespace, name, subresource } = route;
    const method = req.method ?? 'GET';
    const dryRunValues = q.getAll('dryRun');
    if (dryRunValues.some(v => v !== 'All')) {
      throw new ApiError(
        400,
        'BadRequest',
        `unsupported dryRun value: ${dryRunValues.join(',')}`,
      );
    }
    const dryRun = dryRunValues.includes('All');
    const table = wantsTable(req.headers.accept);

    if (method === 'GET' && !name) {
      if (q.get('watch') === 'true' || q.get('watch') === '1') {
        handleWatch(req, res, route, q);
        return;
      }
      const labels = parseLabelSelector(q.get('labelSelector'));
      const fields = parseFieldSelector(q.get('fieldSelector'));
      const items = cluster
        .list(type, namespace)
        .filter(o => labels(o.metadata.labels) && fields(o));
      const rv = cluster.resourceVersion();
      if (table) {
        send(res, 200, toTable(type, items, rv));
        return;
      }
      send(res, 200, {
        kind: listKind(type),
        apiVersion: groupVersion(type.group, type.version),
        metadata: { resourceVersion: rv },
        items,
      });
      return;
    }
    if (!name) {
      if (method === 'POST') {
        if (
          !type.namespaced ||
          namespace !== undefined ||
          type.kind === 'Namespace'
        ) {
          const body = parseJson(await readBody(req), 'body');
          send(res, 201, cluster.create(type, namespace, body, { dryRun }));
          return;
        }
      }
      if (method === 'DELETE') {
        const labels = parseLabelSelector(q.get('labelSelector'));
        const fields = parseFieldSelector(q.get('fieldSelector'));
        const deleteOptions =
          parseJson(await readBody(req), 'DeleteOptions') ?? {};
        const bodyDryRun =
          Array.isArray(deleteOptions.dryRun) &&
          deleteOptions.dryRun.includes('All');
        const items = cluster
          .list(type, namespace)
          .filter(o => labels(o.metadata.labels) && fields(o))
          .map(o =>
            cluster.delete(type, o.metadata.namespace, o.metadata.name, {
              dryRun: dryRun || bodyDryRun,
              propagationPolicy:
                q.get('propagationPolicy') ?? deleteOptions.propagationPolicy,
            }),
          );
        send(res, 200, {
          kind: listKind(type),
          apiVersion: groupVersion(type.group, type.version),
          metadata: { resourceVersion: cluster.resourceVersion() },
          items,
        });
        return;
      }
      throw new ApiError(
        405,
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource`,
      );
    }

    if (subresource === 'log' && type.kind === 'Pod' && method === 'GET') {
      cluster.mustGet(type, namespace, name);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('(the runbooks fake API server keeps no container logs)\n');
      return;
    }
    if (
      subresource === 'eviction' &&
      type.kind === 'Pod' &&
      method === 'POST'
    ) {
      const body = parseJson(await readBody(req), 'Eviction') ?? {};
      send(res, 201, cluster.evict(namespace!, name, body, dryRun));
      return;
    }
    if (subresource === 'scale' && type.scaleSubresource) {
      if (method === 'GET') {
        send(res, 200, cluster.scaleOf(type, namespace!, name));
        return;
      }
      const text = await readBody(req);
      let scale: any;
      if (method === 'PUT') scale = parseJson(text, 'Scale');
      else if (method === 'PATCH') {
        scale = applyPatchBody(
          req,
          cluster.scaleOf(type, namespace!, name),
          text,
        );
      } else
        throw new ApiError(
          405,
          'MethodNotAllowed',
          'method not allowed on scale',
        );
      send(
        res,
        200,
        cluster.writeScale(type, namespace!, name, scale, { dryRun }),
      );
      return;
    }
    if (
      subresource !== undefined &&
      !(subresource === 'status' && type.statusSubresource)
    ) {
      throw notFoundPath();
    }

    switch (method) {
      case 'GET': {
        const obj = cluster.mustGet(type, namespace, name);
        send(
          res,
          200,
          table ? toTable(type, [obj], cluster.resourceVersion()) : obj,
        );
        return;
      }
      case 'PUT': {
        const body = parseJson(await readBody(req), 'body');
        send(
          res,
          200,
          cluster.replace(type, namespace, name, body, { dryRun, subresource }),
        );
        return;
      }
      case 'PATCH': {
        const text = await readBody(req);
        const current = cluster.get(type, namespace, name);
        if (!current) {
          if (isApplyPatch(req) && !subresource) {
            const body = parseApplyBody(text);
            send(
              res,
              201,
              cluster.create(
                type,
                namespace,
                { ...body, metadata: { ...body.metadata, name } },
                { dryRun },
              ),
            );
            return;
          }
          cluster.mustGet(type, namespace, name);
        }
        const patched = applyPatchBody(req, current, text);
        if (patched?.metadata?.name !== name) {
          throw new ApiError(
            400,
            'BadRequest',
            'a patch may not change metadata.name',
          );
        }
        send(
          res,
          200,
          cluster.replace(type, namespace, name, patched, {
            dryRun,
            subresource,
          }),
        );
        return;
      }
      case 'DELETE': {
        const deleteOptions =
          parseJson(await readBody(req), 'DeleteOptions') ?? {};
        const bodyDryRun =
          Array.isArray(deleteOptions.dryRun) &&
          deleteOptions.dryRun.includes('All');
        send(
          res,
          200,
          cluster.delete(type, namespace, name, {
            dryRun: dryRun || bodyDryRun,
            propagationPolicy:
              q.get('propagationPolicy') ?? deleteOptions.propagationPolicy,
            preconditions: deleteOptions.preconditions,
          }),
        );
        return;
      }
      default:
        throw new ApiError(
          405,
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
        );
    }
  };

  const server: Server = createServer(async (req, res) => {
    const parsed = new URL(req.url ?? '/', 'http://fake');
    const path = parsed.pathname.replace(/\/+$/, '') || '/';
    requests.push({ method: req.method ?? 'GET', path, query: parsed.search });
    if (requests.length > 1000) requests.shift();
    try {
      if (req.method === 'GET') {
        if (path === '/version') return send(res, 200, VERSION);
        if (path === '/healthz' || path === '/livez' || path === '/readyz') {
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
          return undefined;
        }
        if (path === '/api') {
          return send(res, 200, {
            kind: 'APIVersions',
            versions: ['v1'],
            serverAddressByClientCIDRs: [
              { clientCIDR: '0.0.0.0/0', serverAddress: new URL(url).host },
            ],
          });
        }
        if (path === '/apis') return send(res, 200, apiGroupList());
        if (path === '/api/v1')
          return send(res, 200, apiResourceList('', 'v1'));
        const gv = path.match(/^\/apis\/([^/]+)\/([^/]+)$/);
        if (
          gv &&
          RESOURCE_TYPES.some(t => t.group === gv[1] && t.version === gv[2])
        ) {
          return send(res, 200, apiResourceList(gv[1], gv[2]));
        }
        const g = path.match(/^\/apis\/([^/]+)$/);
        if (g && RESOURCE_TYPES.some(t => t.group === g[1])) {
          const group = apiGroupList().groups.find(x => x.name === g[1]);
          return send(res, 200, {
            kind: 'APIGroup',
            apiVersion: 'v1',
            ...group,
          });
        }
      }
      const route = parseRoute(path);
      if (!route) throw notFoundPath();
      await handleResource(req, res, route, parsed.searchParams);
    } catch (e) {
      let error: ApiError;
      if (e instanceof ApiError) error = e;
      else if (e instanceof SelectorError)
        error = new ApiError(400, 'BadRequest', e.message);
      else if (e instanceof PatchError)
        error = new ApiError(422, 'Invalid', e.message);
      else
        error = new ApiError(
          500,
          'InternalError',
          `fake API server error: ${(e as Error)?.message ?? e}`,
        );
      if (!res.headersSent) send(res, error.code, error.toStatus());
      else res.end();
    }
    return undefined;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  url = `http://${host}:${(server.address() as AddressInfo).port}`;

  const kubeconfig = () =>
    toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'runbooks-fake',
          cluster: { server: url, 'insecure-skip-tls-verify': true },
        },
      ],
      contexts: [
        {
          name: 'runbooks-fake',
          context: {
            cluster: 'runbooks-fake',
            user: 'runbooks-fake',
            namespace: 'default',
          },
        },
      ],
      'current-context': 'runbooks-fake',
      users: [{ name: 'runbooks-fake', user: {} }],
    });

  return {
    url,
    cluster,
    requests,
    kubeconfig,
    async writeKubeconfig(path: string) {
      await writeFile(path, kubeconfig(), { mode: 0o600 });
      return path;
    },
    async close() {
      for (const res of watches) res.end();
      watches.clear();
      await new Promise<void>(resolve => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function isApplyPatch(req: IncomingMessage) {
  return String(req.headers['content-type'] ?? '').startsWith(
    'application/apply-patch',
  );
}

function parseApplyBody(text: string): KubeObject {
  try {
    const body = parseYaml(text);
    if (!body || typeof body !== 'object') throw new Error('not an object');
    return body;
  } catch (e) {
    throw new ApiError(
      400,
      'BadRequest',
      `the apply patch is not a valid object: ${(e as Error).message}`,
    );
  }
}

function applyPatchBody(
  req: IncomingMessage,
  current: unknown,
  text: string,
): any {
  const contentType = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    .trim();
  switch (contentType) {
    case 'application/merge-patch+json':
      return jsonMergePatch(current, parseJson(text, 'patch'));
    case 'application/json-patch+json':
      return jsonPatch(current, parseJson(text, 'patch'));
    case 'application/strategic-merge-patch+json':
      return strategicMergePatch(current, parseJson(text, 'patch'));
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor': {
      // simplified server-side apply: the applied configuration is merged like a strategic merge
      // patch; no field ownership, no conflicts, no removal of fields dropped from the config
      const body = parseApplyBody(text);
      const { resourceVersion, ...metadata } = body.metadata ?? {};
      return strategicMergePatch(current, { ...body, metadata });
    }
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
  }
}
