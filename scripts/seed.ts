import { MultiBar, Presets } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfigOrExit } from '../platform/config';
import { createDatabase } from '../platform/database';
import { createLogger } from '../platform/logger';
import { seedCatalogue, type SeedOptions, type SeedProgress } from '../catalogue/seed';

function count(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
}

function currency(value: string): string {
  if (!/^[A-Z]{3}$/.test(value)) throw new InvalidArgumentError('must be an ISO 4217 code such as EUR');
  return value;
}

const program = new Command('seed')
  .description(
    'Fill the database with a realistic marketplace catalogue: sellers, products with stock, customers.\n' +
      'The same --seed gives the same catalogue; seeding twice with one seed adds nothing.',
  )
  .option('--sellers <n>', 'number of sellers', count('--sellers', 1), 20)
  .option('--products <n>', 'number of products (spread over the sellers)', count('--products', 0), 1000)
  .option('--customers <n>', 'number of customers, each with an address', count('--customers', 0), 200)
  .option('--max-stock <n>', 'most units on hand per product', count('--max-stock', 0), 100)
  .option('--currency <code>', 'currency of every price', currency, 'EUR')
  .option('--seed <n>', 'random seed', count('--seed', 0), 42)
  .action(async (options: SeedOptions) => {
    const config = loadConfigOrExit();
    const logger = createLogger(config, 'shopflow-seed', 'stderr');
    const db = createDatabase(config);
    // Bars only on a terminal; in CI the log lines below say what happened.
    const bars = process.stderr.isTTY
      ? new MultiBar({ format: ' {phase} [{bar}] {value}/{total}', hideCursor: true }, Presets.shades_classic)
      : undefined;
    const phases = new Map<SeedProgress['phase'], ReturnType<MultiBar['create']>>();
    try {
      const result = await seedCatalogue(db, options, ({ phase, done, total }) => {
        if (!bars) return;
        const bar =
          phases.get(phase) ?? phases.set(phase, bars.create(total, 0, { phase: phase.padEnd(9) })).get(phase)!;
        bar.update(done);
      });
      bars?.stop();
      logger.info({ requested: options, written: result }, 'catalogue seeded');
    } catch (error) {
      bars?.stop();
      process.stderr.write(`shopflow seed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    } finally {
      await db.$disconnect();
    }
  });

program.exitOverride((error) => {
  process.exit(error.exitCode === 0 ? 0 : 2);
});
void program.parseAsync();
