plugins {
    id("com.android.library") version "8.7.3" apply false
    id("com.android.application") version "8.7.3" apply false
    id("org.jetbrains.kotlin.android") version "2.1.0" apply false
    id("org.jetbrains.kotlin.plugin.compose") version "2.1.0" apply false
    // Optional: only applied by :app when app/google-services.json exists (docs/android.md).
    id("com.google.gms.google-services") version "4.4.2" apply false
}
