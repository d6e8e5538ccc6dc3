/**
 * Gestalt's test kit: real clusters and the real CLI, for end-to-end tests.
 *
 * <ul>
 *   <li>{@link dev.gestalt.testkit.LocalClusterFixture}: a local cluster of N real
 *       node daemons started by {@code ./gestalt cluster up} in a temporary
 *       {@code GESTALT_HOME}, with fault injection ({@code kill9}, {@code stop})
 *       and {@code restart}; a JUnit extension, or an {@link java.lang.AutoCloseable}
 *       on its own.</li>
 *   <li>{@link dev.gestalt.testkit.Cli}: runs {@code ./gestalt ARGS} as a real
 *       process with a bounded wait: a hung CLI fails the test, it never hangs the
 *       suite.</li>
 *   <li>{@link dev.gestalt.testkit.Eventually}: bounded polling, for a machine that
 *       may be slow (never assert on speed).</li>
 *   <li>{@link dev.gestalt.testkit.TinyJson}: a strict JSON reader to check
 *       {@code --json} output without a new dependency.</li>
 * </ul>
 */
package dev.gestalt.testkit;
