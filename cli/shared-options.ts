import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { Option } from 'commander';
import { loadConfigOrExit } from '../platform/config';
import { createDataConverter } from '../platform/data-converter';

export const defaultWorkflowsPath = path.resolve(__dirname, '..', 'workflows', 'index.ts');

export function workflowsPathOption(): Option {
  return new Option('--workflows-path <file>', 'the workflows module to replay against')
    .default(defaultWorkflowsPath, 'workflows/index.ts of this working tree')
    .argParser((value: string) => path.resolve(value));
}

/**
 * The data converter every command decodes payloads with: the same payload codec (keys from the
 * environment) as the worker and the API, so encrypted histories replay and read in plain words.
 */
export function cliDataConverter(): DataConverter {
  return createDataConverter(loadConfigOrExit());
}
