/**
 * A local serverless plugin: checks the deployment parameters before `serverless package` (and so `deploy`)
 * bundles anything, and gives the alarm topic its e-mail subscriptions. The rules are TypeScript
 * (lib/deploy/parameters.ts, running lib/config.ts on each function's environment), loaded through tsx.
 * `serverless offline` and `invoke local` do not package, so they are not checked.
 */
import { tsImport } from 'tsx/esm/api';

const rules = () => tsImport('../lib/deploy/parameters.ts', import.meta.url);

export default class CheckParameters {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:initialize': () => this.check(),
      'after:aws:package:finalize:mergeCustomProviderResources': () => this.subscribe(),
    };
  }

  async check() {
    const { deploymentIssues } = await rules();
    const service = this.serverless.service;
    const shared = service.provider.environment ?? {};
    const functions = Object.entries(service.functions ?? {}).map(([name, fn]) => ({
      name,
      environment: { ...shared, ...(fn.environment ?? {}) },
    }));
    const issues = deploymentIssues(functions, String(service.custom?.alarmEmails ?? ''));
    if (issues.length > 0) {
      throw new this.serverless.classes.Error(
        `Invalid deployment parameters (set them in the environment or with --param; nothing was packaged):\n  - ${issues.join('\n  - ')}`,
      );
    }
  }

  async subscribe() {
    const { alarmSubscriptions } = await rules();
    const service = this.serverless.service;
    const topic = service.provider.compiledCloudFormationTemplate?.Resources?.AlarmTopic;
    const subscriptions = alarmSubscriptions(String(service.custom?.alarmEmails ?? ''));
    if (topic !== undefined && subscriptions.length > 0) topic.Properties.Subscription = subscriptions;
  }
}
