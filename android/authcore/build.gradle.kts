// The library module apps depend on. Its bindings are generated, not written:
//   src/main/kotlin/com/example/authcore/authcore_ffi.kt   scripts/bindings.sh (crate authcore_ffi)
//   src/main/kotlin/com/example/authcore/core/authcore.kt  scripts/bindings.sh (the core's types)
//   src/main/jniLibs/<abi>/libauthcore_ffi.so              cargo ndk (README "Use it from Android")
// Written here: the platform glue in src/main/kotlin/com/example/authcore/platform/ (Keystore
// SecureStore and DeviceKeys, BiometricPrompt UserVerification, Logcat Logger, AuthcoreTrust).
// The AAR: scripts/package-android.sh (README "For app developers").
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "com.example.authcore"
    compileSdk = 35

    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // uniffi's Kotlin calls the Rust library through JNA (the AAR carries libjnidispatch.so).
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    // The generated code uses @RequiresApi for Android's SystemCleaner (API 33+).
    implementation("androidx.annotation:annotation:1.9.1")
    // Platform glue: BiometricPrompt (needs a FragmentActivity), ContextCompat.
    api("androidx.biometric:biometric:1.1.0")
    api("androidx.fragment:fragment-ktx:1.8.5")
    implementation("androidx.core:core-ktx:1.15.0")
    // rustls-platform-verifier's Kotlin component (the core verifies server certificates with
    // Android's trust manager; AuthcoreTrust.init hands it the Context). It ships inside the Rust
    // crate as a local Maven repository, declared in ../settings.gradle.kts; `latest.release` is
    // the one version there, the one Cargo.lock resolved.
    implementation("rustls:rustls-platform-verifier:latest.release")
}
