// lorapipe's version, packages/lorapipe/package.json's (tests/cli.test.ts holds them equal): what
// --version, the help, reports and the Hub's User-Agent say. A literal, so start-up reads no file.
export const VERSION = '0.1.0'
