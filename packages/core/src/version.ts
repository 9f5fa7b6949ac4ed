// lorapipe's version: `lorapipe --version`, the help, reports and the Hub's User-Agent all say this
// one. It is packages/lorapipe/package.json's version (tests/cli.test.ts holds them equal), kept
// as a literal so that start-up reads no file.
export const VERSION = '0.1.0'
