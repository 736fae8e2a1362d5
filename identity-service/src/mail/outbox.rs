//! The development mailer: each message becomes one `.eml` file that a person (or a test)
//! can open, in a directory that a mail viewer or `tail` can watch.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use lettre::message::Mailbox;
use protocol::secrets::random_bytes;
use shared::settings::SettingsError;

use super::{Mail, MailError, MailSettings, Mailer, build_message, parse_from};

#[derive(Debug, Clone)]
pub struct FileOutbox {
    dir: PathBuf,
    from: Mailbox,
}

impl FileOutbox {
    /// Creates `mail.outbox_dir` if missing, so a bad path fails at startup.
    pub fn from_settings(settings: &MailSettings) -> Result<Self, SettingsError> {
        let from = parse_from(settings)?;
        let dir = settings.outbox_dir.clone();
        fs::create_dir_all(&dir)
            .map_err(|e| SettingsError::invalid("mail.outbox_dir", format!("{}: {e}", dir.display())))?;
        Ok(Self { dir, from })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait::async_trait]
impl Mailer for FileOutbox {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let bytes = build_message(&self.from, mail)?.formatted();
        let dir = self.dir.clone();
        let path = tokio::task::spawn_blocking(move || write_atomically(&dir, &bytes))
            .await
            .map_err(|e| MailError::Unavailable(format!("outbox writer: {e}")))?
            .map_err(|e| MailError::Unavailable(format!("outbox: {e}")))?;
        tracing::info!(path = %path.display(), "mail written to outbox");
        Ok(())
    }
}

/// Readers list `*.eml`: the temp name is hidden and lacks that suffix, and the rename
/// within one directory is atomic, so they see a whole message or none.
fn write_atomically(dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    // Recreated on each send: tmp cleaners may remove an idle outbox.
    fs::create_dir_all(dir)?;
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let random: String = random_bytes(8).iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("{millis}-{random}.eml");
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    let written = File::create_new(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, &path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(path)
}
