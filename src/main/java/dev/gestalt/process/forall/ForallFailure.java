package dev.gestalt.process.forall;

/** forall cannot go on (an input file it cannot read, a joblog it cannot write): exit 255, as GNU parallel. */
final class ForallFailure extends Exception {
    ForallFailure(String message) {
        super(message);
    }
}
