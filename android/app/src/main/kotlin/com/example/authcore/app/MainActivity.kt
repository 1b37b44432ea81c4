package com.example.authcore.app

import android.app.Activity
import android.os.Bundle
import android.widget.TextView

/** Skeleton: the sign-in and authenticator screens come with the app half of issue 6. */
class MainActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(TextView(this).apply { text = "Authcore" })
    }
}
