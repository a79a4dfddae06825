/** Mocha root hooks (loaded by .mocharc.json): what the whole run shares is cleaned up once. */
import { dropTemplateDatabase } from './app.js';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    if (process.env.MYSQL_URL) await dropTemplateDatabase();
  },
};
