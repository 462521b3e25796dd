// Loaded with `node --import ./unit/register.mjs`: lets the tests import the app's .ts files.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
