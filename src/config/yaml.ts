// YAML text → plain data for the config and web config files, with the first syntax error as a ConfigError.
import { parseDocument } from 'yaml';
import { ConfigError } from './error.js';

/**
 * Parses `text`; `label` names the file in messages (`/etc/wolkvox.yml is not valid YAML at line 3,
 * column 7: …`). Duplicate keys are errors. The yaml library's warnings are not printed: whatever
 * they warn about, the schema that reads the result rejects by key.
 */
export function parseYaml(text: string, key: string, label: string): unknown {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true, logLevel: 'error' });
  const yamlError = document.errors[0];
  if (yamlError) {
    const position = yamlError.linePos?.[0];
    const where = position !== undefined ? ` at line ${position.line}, column ${position.col}` : '';
    const reason = (yamlError.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(key, `${label} is not valid YAML${where}: ${reason}`);
  }
  try {
    return document.toJS();
  } catch (error) {
    // yaml throws while resolving aliases: unknown anchors, and alias bombs past its expansion limit.
    throw new ConfigError(key, `${label} is not valid YAML: ${(error as Error).message}`);
  }
}
