//! The PrepareMedia activity: validates, probes and joins chunks with FFmpeg and extracts 16 kHz mono speech audio.
