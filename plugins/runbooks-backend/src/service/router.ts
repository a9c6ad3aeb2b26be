import { HttpAuthService, LoggerService } from '@backstage/backend-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import { EntityRunbooksResponse } from '@runbooks/plugin-runbooks-common';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { RunbookCatalog } from '../runbook';

/** What the router needs. */
export interface RouterOptions {
  logger: LoggerService;
  httpAuth: HttpAuthService;
  runbookCatalog: RunbookCatalog;
}

const entityParams = z.object({
  kind: z.string().min(1),
  namespace: z.string().min(1),
  name: z.string().min(1),
});

async function parse<T>(
  schema: z.ZodType<T>,
  value: unknown,
  what: string,
): Promise<T> {
  return schema.parseAsync(value).catch((e: z.ZodError) => {
    throw new InputError(
      `Invalid ${what}: ${e.issues
        .map(i => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  });
}

/** The runbooks plugin's HTTP API. */
export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { httpAuth, runbookCatalog } = options;
  const router = Router();
  router.use(express.json());

  router.get('/entities/:kind/:namespace/:name/runbooks', async (req, res) => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const params = await parse(entityParams, req.params, 'entity reference');
    const entityRef = stringifyEntityRef(params);
    const { entity, items } = await runbookCatalog.listForEntity(
      entityRef,
      credentials,
    );
    const body: EntityRunbooksResponse = {
      entityRef: stringifyEntityRef(entity),
      items,
    };
    res.json(body);
  });

  return router;
}
