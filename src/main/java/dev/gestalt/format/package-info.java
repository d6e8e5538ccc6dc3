/**
 * Text for people and for scripts: aligned tables (control characters shown as {@code ?}, as
 * procps does) and minimal JSON. Used by whatever renders a command's answer; no I/O here.
 */
package dev.gestalt.format;
