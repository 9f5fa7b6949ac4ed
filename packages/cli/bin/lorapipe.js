#!/usr/bin/env node
// The command lives in the package users install, packages/lorapipe (it runs the build, or these
// sources when the build is out of date); this path stays for scripts and tests that use it.
await import('../../lorapipe/bin/lorapipe.js')
