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

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "authcore-android"
include(":authcore", ":app")
