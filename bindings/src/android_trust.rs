//! Android: the JNI entry point of `com.example.authcore.platform.AuthcoreTrust.init(context)`
//! (android/authcore), which hands the application Context to the core's platform certificate
//! verifier: rustls-platform-verifier asks Android's X509TrustManager through the JVM
//! (core/src/http/trust.rs). Called once, before the first request; until then every server
//! certificate is refused (`Untrusted`). A JNI function because uniffi cannot pass a Context.

use jni::objects::{JClass, JObject};
use jni::JNIEnv;

/// `AuthcoreTrust.initPlatformTrust(context)`. A JNI failure other than a pending Java exception
/// (which reaches the Kotlin caller as it is) is thrown as an `IllegalStateException`.
#[allow(unsafe_code)] // `no_mangle`: the JVM finds a native method by this exact symbol name.
#[allow(non_snake_case)] // the JNI naming scheme: Java_<package>_<class>_<method>
#[no_mangle]
pub extern "system" fn Java_com_example_authcore_platform_AuthcoreTrust_initPlatformTrust(
    mut env: JNIEnv,
    _class: JClass,
    context: JObject,
) {
    match authcore::http::android::init(&mut env, context) {
        Ok(()) | Err(jni::errors::Error::JavaException) => {}
        Err(_) => {
            // Nothing more can be done if even the throw fails; the verifier stays refusing.
            let _ = env.throw_new(
                "java/lang/IllegalStateException",
                "authcore: the platform certificate verifier could not be initialised",
            );
        }
    }
}
