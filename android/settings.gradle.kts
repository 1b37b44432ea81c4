// The Android side of authcore: `authcore` (library module: the generated Kotlin bindings and the
// Rust .so files) and `app` (the thin app). Not built on the authcore CI machine (no Gradle, no
// SDK); see README "Use it from Android".
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

// rustls-platform-verifier's Kotlin component (used by :authcore) is a local Maven repository inside
// the rustls-platform-verifier-android crate; `cargo metadata` for an Android target finds the
// crate's directory (its README's setup, here in settings: project repositories are refused).
fun rustlsPlatformVerifierMaven(): File {
    val metadata = providers.exec {
        workingDir = rootDir.parentFile
        commandLine(
            "cargo", "metadata", "--format-version", "1", "--filter-platform", "aarch64-linux-android",
            "--manifest-path", "bindings/Cargo.toml",
        )
    }.standardOutput.asText.get()
    @Suppress("UNCHECKED_CAST")
    val packages = (groovy.json.JsonSlurper().parseText(metadata) as Map<String, Any>)["packages"]
        as List<Map<String, Any>>
    val manifest = packages.first { it["name"] == "rustls-platform-verifier-android" }["manifest_path"]
        as String
    return File(File(manifest).parentFile, "maven")
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
        maven {
            url = uri(rustlsPlatformVerifierMaven())
            metadataSources { artifact() }
            content { includeGroup("rustls") }
        }
    }
}

rootProject.name = "authcore-android"
include(":authcore", ":app")
