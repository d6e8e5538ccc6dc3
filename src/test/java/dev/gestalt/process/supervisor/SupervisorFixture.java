package dev.gestalt.process.supervisor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** One real {@link Supervisor} per test class, in a temporary state folder, closed after the class. */
final class SupervisorFixture implements BeforeAllCallback, AfterAllCallback {

    private Path state;
    private Supervisor supervisor;

    Supervisor get() {
        return supervisor;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        state = Files.createTempDirectory("gestalt-supervisor");
        supervisor = new Supervisor(state);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        supervisor.close();
        try (var files = Files.walk(state)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
