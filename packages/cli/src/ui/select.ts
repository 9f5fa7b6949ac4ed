// Which front end `lorapipe run` uses: the Ink UI when stdout is a terminal and this is not CI;
// plain lines otherwise. LORAPIPE_UI=plain|ink overrides (e.g. plain lines in a terminal).
export function wantsInk(stdout: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.LORAPIPE_UI === 'plain') return false
  if (env.LORAPIPE_UI === 'ink') return true
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false'
  return stdout.isTTY === true && !ci && env.TERM !== 'dumb'
}
